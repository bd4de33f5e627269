#![allow(clippy::print_stdout)]
fn main() {
    let set = hush_patterns::RuleSet::builtin().unwrap();
    let hay = std::env::args().nth(1).unwrap();
    for f in set.find_all(hay.as_bytes(), None) {
        println!(
            "{} {:?} {:?} {}",
            f.rule_id,
            f.secret_span,
            f.encoding,
            &hay[f.secret_span.clone()]
        );
    }
}

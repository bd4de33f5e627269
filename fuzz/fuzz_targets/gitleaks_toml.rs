//! Arbitrary bytes as a gitleaks configuration (`[[rules]]` with `description`): loading may fail, never panic; what loads must search.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(body) = std::str::from_utf8(data) else { return };
    // Force the gitleaks loader: a `title` key selects it.
    let text = &format!("title = \"fuzz\"\n{body}");
    let mut builder = hush_patterns::RuleSetBuilder::new();
    builder.builtin(false);
    if builder.add_toml(".gitleaks.toml".as_ref(), text).is_ok() {
        if let Ok(set) = builder.build() {
            let _ = set.find(data);
            let _ = set.check_examples(|_| true);
        }
    }
});

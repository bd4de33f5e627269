//! The built-in rule pack: it loads, every regex compiles, every example holds, and it covers
//! what the rule pack promises.

use hush_patterns::RuleSet;

#[test]
fn builtin_rules_compile() {
    let set = RuleSet::builtin().expect("built-in pack loads");
    if let Err(errors) = set.compile_all() {
        panic!("rules that do not compile: {errors:?}");
    }
}

#[test]
fn builtin_examples_hold() {
    let set = RuleSet::builtin().unwrap();
    let failures = set.check_examples(|_| true);
    let text: Vec<String> = failures.iter().map(ToString::to_string).collect();
    assert!(failures.is_empty(), "{}", text.join("\n"));
}

#[test]
fn builtin_pack_size_and_shape() {
    let set = RuleSet::builtin().unwrap();
    assert!(set.len() >= 150, "{} rules", set.len());
    for r in set.rules() {
        assert!(r.id().starts_with("hush."), "{}", r.id());
        assert!(!r.keywords().is_empty(), "{} has no keywords", r.id());
        assert!(!r.examples().is_empty(), "{} has no examples", r.id());
        assert!(!r.references().is_empty(), "{} has no references", r.id());
    }
}

#[test]
fn builtin_pack_covers_the_promised_families() {
    let set = RuleSet::builtin().unwrap();
    let ids: Vec<&str> = set.rules().iter().map(|r| r.id()).collect();
    for family in [
        "aws",
        "gcp",
        "azure",
        "digitalocean",
        "heroku",
        "cloudflare",
        "alibaba",
        "ibm",
        "oracle",
        "github",
        "gitlab",
        "bitbucket",
        "npm",
        "pypi",
        "rubygems",
        "nuget",
        "cratesio",
        "dockerhub",
        "openai",
        "anthropic",
        "huggingface",
        "cohere",
        "groq",
        "replicate",
        "mistral",
        "gemini",
        "stripe",
        "square",
        "paypal",
        "shopify",
        "slack",
        "discord",
        "telegram",
        "twilio",
        "sendgrid",
        "mailgun",
        "mailchimp",
        "postmark",
        "datadog",
        "newrelic",
        "sentry",
        "grafana",
        "honeycomb",
        "pagerduty",
        "atlassian",
        "linear",
        "notion",
        "postman",
        "airtable",
        "asana",
        "figma",
        "dropbox",
        "okta",
        "algolia",
        "hashicorp",
        "doppler",
        "onepassword",
        "pulumi",
        "flyio",
        "vercel",
        "netlify",
        "supabase",
        "planetscale",
        "databricks",
        "keys",
        "credentials",
        "generic",
    ] {
        let prefix = format!("hush.{family}.");
        assert!(
            ids.iter().any(|id| id.starts_with(&prefix)),
            "no rule for {family}"
        );
    }
}

fn b64(data: &[u8], table: &[u8; 64]) -> String {
    let mut s = String::new();
    for c in data.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..=c.len() {
            s.push(table[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    s
}

/// Every example of every rule, base64-encoded (standard and URL-safe, at all three alignments)
/// or percent-encoded, must still produce a finding of its rule: the decoding path and the
/// encoded keyword forms work for the whole pack, not just for hand-picked cases.
#[test]
fn builtin_examples_are_found_encoded() {
    const STD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let set = RuleSet::builtin().unwrap();
    let mut failures = Vec::new();
    for rule in set.rules() {
        // Decoded spans are searched up to the pack's bound; skip examples longer than a rule
        // can be found in after encoding (none today).
        for ex in rule.examples() {
            let text = ex.text.as_bytes();
            let mut forms = Vec::new();
            for (name, table) in [("base64", STD), ("base64url", URL)] {
                // Separators of length 0, 1 and 2 put the text at all three base64 alignments.
                for prefix in ["", "\n", " \n"] {
                    let mut data = prefix.as_bytes().to_vec();
                    data.extend_from_slice(text);
                    forms.push((
                        format!("{name}+{}", prefix.len()),
                        format!("v: {}\n", b64(&data, table)),
                    ));
                }
            }
            let pct: String = text
                .iter()
                .map(|&b| {
                    if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                        (b as char).to_string()
                    } else {
                        format!("%{b:02X}")
                    }
                })
                .collect();
            forms.push(("percent".into(), format!("q={pct}&x=1")));
            // A 3-byte keyword encodes to a stable 4-character run at one alignment in three
            // (documented in patterns/README.md); rules with only such keywords are held to that.
            let short_only = rule.keywords().iter().all(|k| k.len() < 4);
            for (name, hay) in forms {
                if short_only && !name.ends_with("+0") && name != "percent" {
                    continue;
                }
                let found = set
                    .find_all(hay.as_bytes(), None)
                    .iter()
                    .any(|f| &*f.rule_id == rule.id());
                if !found {
                    failures.push(format!("{} ({name}): {:?}", rule.id(), ex.text));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The pack is parsed and compiled on several threads; the rules still come in file order
/// (sorted file names, rules as written), so reports and `hush rules list` are stable.
#[test]
fn builtin_rules_keep_file_order() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../patterns");
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    let mut want = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        let doc: toml::Table = toml::from_str(&text).unwrap();
        for rule in doc["rules"].as_array().unwrap() {
            want.push(rule["id"].as_str().unwrap().to_string());
        }
    }
    for _ in 0..3 {
        let set = RuleSet::builtin().unwrap();
        let got: Vec<&str> = set.rules().iter().map(|r| r.id()).collect();
        assert_eq!(got, want);
    }
}

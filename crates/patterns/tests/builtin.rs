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

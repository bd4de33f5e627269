//! Hot reload: the handle swaps to a valid edit and keeps the last good policy on a bad one.

use std::time::{Duration, Instant};

use hush_policy::{Context, Effect, Loader, PolicyHandle, ReloadEvent, Request, Tier};

const V1: &str = "[[commands]]\nid = \"ls\"\nprogram = \"ls\"\n";
const V2: &str = "[[commands]]\nid = \"ls\"\nprogram = \"ls\"\neffect = \"deny\"\n";

fn handle(dir: &std::path::Path) -> PolicyHandle {
    let file = dir.join("agent.toml");
    std::fs::write(&file, V1).unwrap();
    let mut l = Loader::new(Context::new("/w", "/home/me", "/tmp"));
    l.secret_rules(None).file(Tier::Project, &file);
    PolicyHandle::new(l).unwrap()
}

fn ls(h: &PolicyHandle) -> Effect {
    h.evaluate(&Request::exec("ls", Vec::<String>::new(), "/w"))
        .effect
}

#[test]
fn reload_swaps_valid_edits_and_keeps_the_last_good_policy() {
    let dir = tempfile::tempdir().unwrap();
    let h = handle(dir.path());
    assert_eq!(ls(&h), Effect::Allow);
    let held = h.current();

    std::fs::write(dir.path().join("agent.toml"), V2).unwrap();
    assert_eq!(h.reload().unwrap(), 2);
    assert_eq!(ls(&h), Effect::Deny);
    // A decision in flight keeps the policy it started with.
    assert_eq!(
        held.evaluate(&Request::exec("ls", Vec::<String>::new(), "/w"))
            .effect,
        Effect::Allow
    );

    std::fs::write(
        dir.path().join("agent.toml"),
        "[[commands]]\nprogam = \"ls\"\n",
    )
    .unwrap();
    let err = h.reload().unwrap_err().to_string();
    assert!(err.ends_with("agent.toml:2:1: unknown field `progam`, expected one of `id`, `program`, `args`, `exact`, `shell`, `effect`, `reason`"), "{err}");
    assert_eq!(h.generation(), 2);
    assert_eq!(ls(&h), Effect::Deny);
    assert!(h.last_error().is_some());
    assert_eq!(h.metrics().snapshot().total(), 3);
}

#[test]
fn watcher_picks_up_edits() {
    let dir = tempfile::tempdir().unwrap();
    let h = handle(dir.path());
    let (tx, rx) = std::sync::mpsc::channel();
    h.on_reload(move |ev| {
        let _ = tx.send(matches!(ev, ReloadEvent::Reloaded { .. }));
    });
    h.watch().unwrap();
    // Save by rename, as editors do.
    let tmp = dir.path().join(".agent.toml.swp");
    std::fs::write(&tmp, V2).unwrap();
    std::fs::rename(&tmp, dir.path().join("agent.toml")).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while ls(&h) != Effect::Deny {
        assert!(Instant::now() < deadline, "no reload within 10 s");
        let _ = rx.recv_timeout(Duration::from_millis(100));
    }
    std::fs::write(dir.path().join("agent.toml"), "not = [toml").unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while h.last_error().is_none() {
        assert!(
            Instant::now() < deadline,
            "bad edit not reported within 10 s"
        );
        let _ = rx.recv_timeout(Duration::from_millis(100));
    }
    assert_eq!(ls(&h), Effect::Deny);
}

/// A save in two steps (truncate, then write) is one reload of the whole file: the empty file
/// between them is never the policy in use.
#[test]
fn watcher_waits_for_a_save_to_settle() {
    let dir = tempfile::tempdir().unwrap();
    let h = handle(dir.path());
    let (tx, rx) = std::sync::mpsc::channel();
    let seen = h.clone();
    h.on_reload(move |ev| {
        let _ = tx.send((
            matches!(ev, ReloadEvent::Reloaded { .. }),
            seen.current().rule_count(),
        ));
    });
    h.watch_settling(Duration::from_secs(2)).unwrap();
    let file = dir.path().join("agent.toml");
    std::fs::File::create(&file).unwrap();
    std::thread::sleep(Duration::from_millis(20));
    std::fs::write(&file, V2).unwrap();
    let (reloaded, rules) = rx.recv_timeout(Duration::from_secs(20)).unwrap();
    assert!(reloaded);
    assert_eq!(rules, 1, "the policy in use after the first reload");
    assert_eq!(h.generation(), 2);
    assert_eq!(ls(&h), Effect::Deny);
    assert!(
        rx.recv_timeout(Duration::from_secs(3)).is_err(),
        "one save, one reload"
    );
}

#[test]
fn reload_if_changed_reloads_only_after_a_change() {
    let dir = tempfile::tempdir().unwrap();
    let h = handle(dir.path());
    assert!(h.reload_if_changed().is_none());
    std::fs::write(dir.path().join("agent.toml"), V2).unwrap();
    assert_eq!(h.reload_if_changed().unwrap().unwrap(), 2);
    assert_eq!(ls(&h), Effect::Deny);
    assert!(h.reload_if_changed().is_none());
    std::fs::write(dir.path().join("agent.toml"), "not = [toml").unwrap();
    assert!(h.reload_if_changed().unwrap().is_err());
    assert!(
        h.reload_if_changed().is_none(),
        "a refused edit is not retried"
    );
    assert_eq!(h.generation(), 2);
}

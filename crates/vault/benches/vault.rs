//! Unlock time with the default KDF parameters (deliberately slow) and lookup time after unlock.

use criterion::{criterion_group, criterion_main, Criterion};
use hush_vault::{Entry, ExposeSecret, KdfParams, SecretString, Vault};
use std::hint::black_box;
use std::time::SystemTime;

fn benches(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bench.vault");
    let pass = SecretString::from("bench passphrase, not a real one");
    let mut v = Vault::create(&path, &pass, KdfParams::default()).unwrap();
    for i in 0..100 {
        let value = hush_vault::generate(40).unwrap();
        v.insert(Entry::new(&format!("SECRET_{i:03}"), value, SystemTime::now()).unwrap());
    }
    v.save().unwrap();
    drop(v);

    let mut g = c.benchmark_group("unlock");
    g.sample_size(10);
    g.bench_function("default_kdf_64MiB_3passes_100_entries", |b| {
        b.iter(|| Vault::open(black_box(&path), &pass).unwrap())
    });
    g.finish();

    let v = Vault::open(&path, &pass).unwrap();
    c.bench_function("lookup_after_unlock_100_entries", |b| {
        b.iter(|| {
            black_box(v.get(black_box("SECRET_057")))
                .unwrap()
                .value()
                .expose_secret()
                .len()
        })
    });
}

criterion_group!(vault, benches);
criterion_main!(vault);

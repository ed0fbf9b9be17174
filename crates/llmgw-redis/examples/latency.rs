//! What the Redis shared state costs per request: the time of a budget admission (reserve),
//! its settlement, a requests-per-minute take and a cache lookup, against the server at the
//! given URL, next to the in-memory store.
//!
//! ```sh
//! redis-server --port 6390 --save "" --appendonly no &
//! cargo run --release -p llmgw-redis --example latency -- redis://127.0.0.1:6390/0 5000
//! ```

use std::time::{Duration, Instant};

use llmgw_governance::bucket::RatePerMinute;
use llmgw_governance::{CounterStore, MemoryStore, Period, RateKind, Reserve, Window, WindowLimit};
use llmgw_redis::{
    OnCounterError, RedisCache, RedisCacheLimits, RedisConnection, RedisCounterStore, RedisSettings,
};

fn percentiles(mut samples: Vec<Duration>) -> String {
    samples.sort();
    let at = |q: f64| samples[((samples.len() as f64 - 1.0) * q).round() as usize];
    format!(
        "p50 {:>7.1} µs  p99 {:>7.1} µs",
        at(0.5).as_secs_f64() * 1e6,
        at(0.99).as_secs_f64() * 1e6
    )
}

async fn counters(name: &str, store: &dyn CounterStore, n: usize) -> anyhow::Result<()> {
    let now = 1_798_761_599_500;
    let windows = [
        WindowLimit {
            window: Window::containing(Period::Day, now),
            limit: Some(u64::MAX / 2),
        },
        WindowLimit {
            window: Window::containing(Period::Month, now),
            limit: None,
        },
    ];
    let ids = [windows[0].window, windows[1].window];
    let (mut reserve, mut settle, mut take) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..n {
        let key = format!("bench-{}", i % 100);
        let t = Instant::now();
        let r = store
            .take(&key, RateKind::Requests, RatePerMinute(1_000_000), 1, now)
            .await?;
        take.push(t.elapsed());
        anyhow::ensure!(r.is_ok(), "rate limited");
        let t = Instant::now();
        let r = store.reserve(&key, &windows, 1_000).await?;
        reserve.push(t.elapsed());
        anyhow::ensure!(r == Reserve::Reserved, "refused");
        let t = Instant::now();
        store.settle(&key, &ids, 1_000, 700).await?;
        settle.push(t.elapsed());
    }
    println!("{name:<8} take    {}", percentiles(take));
    println!("{name:<8} reserve {}", percentiles(reserve));
    println!("{name:<8} settle  {}", percentiles(settle));
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let url = args
        .next()
        .unwrap_or_else(|| "redis://127.0.0.1:6379/0".into());
    let n: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(5000);
    let redis = RedisConnection::open(&RedisSettings {
        url,
        timeout: Duration::from_secs(2),
    })?;
    redis.ping().await?;
    println!("{n} operations each, one connection, sequential");
    counters("memory", &MemoryStore::new(), n).await?;
    let store = RedisCounterStore::new(redis.clone(), "latency", OnCounterError::Refuse);
    counters("redis", &store, n).await?;

    let cache = RedisCache::new(
        redis,
        "latency",
        RedisCacheLimits {
            ttl: Duration::from_secs(60),
            max_entry_bytes: 1 << 20,
        },
    );
    let mut lookups = Vec::new();
    for i in 0..n {
        let mut fp = [0u8; 32];
        fp[..8].copy_from_slice(&(i as u64).to_le_bytes());
        let t = Instant::now();
        let _ = cache.get(&fp).await;
        lookups.push(t.elapsed());
    }
    println!("redis    lookup  {}  (cache miss)", percentiles(lookups));
    Ok(())
}

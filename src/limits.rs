//! Back-pressure: per traffic class, a bound on concurrent ClickHouse queries (a short bounded
//! wait, then 503), and per customer a rate limit and a bound on requests in flight (429). Each
//! class has its own limits, so a load test or a BI tool can never starve customer requests.

use crate::error::ApiError;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use moka::sync::Cache;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Who the traffic is, from the token's `cls` claim or the configured access-id lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Class {
    Customer,
    Bi,
    LoadTest,
}

impl Class {
    pub const ALL: [Class; 3] = [Class::Customer, Class::Bi, Class::LoadTest];

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "customer" => Some(Self::Customer),
            "bi" => Some(Self::Bi),
            "loadtest" => Some(Self::LoadTest),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Customer => "customer",
            Self::Bi => "bi",
            Self::LoadTest => "loadtest",
        }
    }
}

/// The limits of one class; 0 means unlimited (except `queries`, which is at least 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClassLimits {
    /// Concurrent ClickHouse queries of the whole class.
    pub queries: u32,
    /// Requests per second per customer, and the burst above it.
    pub rps: u32,
    pub burst: u32,
    /// Requests in flight per customer.
    pub concurrency: u32,
}

impl ClassLimits {
    /// The defaults: customers get the most query slots; BI tools fewer; load tests two query
    /// slots but no rate limit (they mostly hit the cache).
    pub fn default_for(class: Class) -> Self {
        match class {
            Class::Customer => Self {
                queries: 16,
                rps: 50,
                burst: 100,
                concurrency: 16,
            },
            Class::Bi => Self {
                queries: 4,
                rps: 20,
                burst: 40,
                concurrency: 4,
            },
            Class::LoadTest => Self {
                queries: 2,
                rps: 0,
                burst: 0,
                concurrency: 0,
            },
        }
    }

    /// Parses `queries=16,rps=50,burst=100,concurrency=16` over the class defaults.
    pub fn parse(class: Class, text: &str) -> Result<Self, String> {
        let mut limits = Self::default_for(class);
        for item in crate::lists::comma_separated(text) {
            let (key, value) = item
                .split_once('=')
                .ok_or_else(|| format!("{item:?} is not key=value"))?;
            let value: u32 = value
                .trim()
                .parse()
                .map_err(|_| format!("{item:?}: the value is not a whole number"))?;
            match key.trim() {
                "queries" => limits.queries = value.max(1),
                "rps" => limits.rps = value,
                "burst" => limits.burst = value,
                "concurrency" => limits.concurrency = value,
                other => return Err(format!("unknown limit {other:?}")),
            }
        }
        Ok(limits)
    }
}

struct ClassState {
    limits: ClassLimits,
    queries: Arc<Semaphore>,
    rate: Option<DefaultKeyedRateLimiter<u32>>,
    in_flight: Cache<u32, Arc<Semaphore>>,
}

/// The admission controller of the gateway.
pub struct Limits {
    classes: Vec<(Class, ClassState)>,
    queue_wait: Duration,
}

/// Held while a request is in flight (counts against the customer's concurrency).
pub struct Admission {
    _permit: Option<OwnedSemaphorePermit>,
}

/// Held while a ClickHouse query runs.
pub struct QuerySlot {
    _permit: OwnedSemaphorePermit,
}

impl Limits {
    pub fn new(per_class: &[(Class, ClassLimits)], queue_wait: Duration) -> Self {
        let classes = per_class
            .iter()
            .map(|(class, limits)| {
                let rate = NonZeroU32::new(limits.rps).map(|rps| {
                    let burst = NonZeroU32::new(limits.burst.max(limits.rps)).unwrap_or(rps);
                    RateLimiter::keyed(Quota::per_second(rps).allow_burst(burst))
                });
                let state = ClassState {
                    limits: *limits,
                    queries: Arc::new(Semaphore::new(limits.queries.max(1) as usize)),
                    rate,
                    in_flight: Cache::builder()
                        .max_capacity(100_000)
                        .time_to_idle(Duration::from_secs(600))
                        .build(),
                };
                (*class, state)
            })
            .collect();
        Self {
            classes,
            queue_wait,
        }
    }

    fn state(&self, class: Class) -> &ClassState {
        self.classes
            .iter()
            .find(|(c, _)| *c == class)
            .map(|(_, s)| s)
            .unwrap_or(&self.classes[0].1)
    }

    /// Admits a request of `customer`, or refuses it with 429 and when to retry.
    pub fn admit(&self, class: Class, customer: u32) -> Result<Admission, ApiError> {
        let state = self.state(class);
        if let Some(rate) = &state.rate
            && let Err(not_until) = rate.check_key(&customer)
        {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            return Err(ApiError::TooManyRequests {
                retry_after_secs: wait.as_secs().max(1),
            });
        }
        if state.limits.concurrency == 0 {
            return Ok(Admission { _permit: None });
        }
        let limit = state.limits.concurrency as usize;
        let semaphore = state
            .in_flight
            .get_with(customer, || Arc::new(Semaphore::new(limit)));
        match semaphore.try_acquire_owned() {
            Ok(permit) => Ok(Admission {
                _permit: Some(permit),
            }),
            Err(_) => Err(ApiError::TooManyRequests {
                retry_after_secs: 1,
            }),
        }
    }

    /// A slot to run a ClickHouse query, waiting at most the queue wait; else 503.
    pub async fn query_slot(&self, class: Class) -> Result<QuerySlot, ApiError> {
        let semaphore = self.state(class).queries.clone();
        match tokio::time::timeout(self.queue_wait, semaphore.acquire_owned()).await {
            Ok(Ok(permit)) => Ok(QuerySlot { _permit: permit }),
            _ => Err(ApiError::Unavailable("gateway busy, retry shortly")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(customer: ClassLimits) -> Limits {
        Limits::new(
            &[
                (Class::Customer, customer),
                (Class::LoadTest, ClassLimits::default_for(Class::LoadTest)),
            ],
            Duration::from_millis(20),
        )
    }

    #[test]
    fn limits_parse_over_defaults_and_name_bad_items() {
        let l = ClassLimits::parse(Class::Bi, "rps=5, concurrency=2").expect("valid");
        assert_eq!(
            l,
            ClassLimits {
                queries: 4,
                rps: 5,
                burst: 40,
                concurrency: 2
            }
        );
        assert!(
            ClassLimits::parse(Class::Bi, "rps=x")
                .expect_err("bad")
                .contains("rps=x")
        );
        assert!(ClassLimits::parse(Class::Bi, "speed=1").is_err());
    }

    #[test]
    fn the_rate_limit_is_per_customer() {
        let l = limits(ClassLimits {
            queries: 1,
            rps: 1,
            burst: 2,
            concurrency: 0,
        });
        assert!(l.admit(Class::Customer, 1).is_ok());
        assert!(l.admit(Class::Customer, 1).is_ok());
        let refused = l
            .admit(Class::Customer, 1)
            .err()
            .expect("third in a second");
        assert!(matches!(
            refused,
            ApiError::TooManyRequests {
                retry_after_secs: 1..
            }
        ));
        assert!(
            l.admit(Class::Customer, 2).is_ok(),
            "another customer is unaffected"
        );
        assert!(
            l.admit(Class::LoadTest, 1).is_ok(),
            "another class is unaffected"
        );
    }

    #[test]
    fn concurrency_is_released_when_the_request_ends() {
        let l = limits(ClassLimits {
            queries: 1,
            rps: 0,
            burst: 0,
            concurrency: 1,
        });
        let first = l.admit(Class::Customer, 7).expect("first");
        assert!(l.admit(Class::Customer, 7).is_err());
        drop(first);
        assert!(l.admit(Class::Customer, 7).is_ok());
    }

    #[tokio::test]
    async fn query_slots_wait_briefly_then_refuse() {
        let l = limits(ClassLimits {
            queries: 1,
            rps: 0,
            burst: 0,
            concurrency: 0,
        });
        let held = l.query_slot(Class::Customer).await.expect("free slot");
        let refused = l.query_slot(Class::Customer).await.err().expect("busy");
        assert!(matches!(refused, ApiError::Unavailable(_)));
        assert!(
            l.query_slot(Class::LoadTest).await.is_ok(),
            "classes do not share slots"
        );
        drop(held);
        assert!(l.query_slot(Class::Customer).await.is_ok());
    }
}

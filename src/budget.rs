//! The retry budget: a token bucket that keeps retries from multiplying the
//! load on a service that is down.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

/// A token bucket shared by every clone of the middleware that holds it (and
/// by any other middleware given a clone of it), which caps retries across
/// all the calls that share it.
///
/// Each retry takes [`retry_cost`](RetryBudgetBuilder::retry_cost) tokens
/// (twice that after a timeout, which costs the service the most); each call
/// that succeeds at its first attempt puts
/// [`success_deposit`](RetryBudgetBuilder::success_deposit) back, up to the
/// capacity; a retry that succeeds gives its cost back, and so does a call
/// dropped while it waits to retry (the retry was never sent). A retry that
/// was sent and failed, or whose call was dropped while it was in flight,
/// stays paid for: it reached the service. When the bucket cannot pay for a
/// retry, the error is returned at once with
/// [`StopReason::BudgetExhausted`](crate::StopReason::BudgetExhausted). First
/// attempts are never held back.
///
/// # Default
///
/// | setting | value | effect |
/// | --- | --- | --- |
/// | capacity | 1,000 tokens (full at start) | a burst of 100 retries |
/// | retry cost | 10 tokens (20 after a timeout) | |
/// | success deposit | 1 token | beyond the burst, at most 1 *failed* retry per 10 first-attempt successes |
///
/// So a sustained outage adds at most 100 attempts in all, then none: the
/// Google SRE book's 10% limit, reached once the burst is spent. What the
/// budget caps is the retries that fail. A retry that succeeds gives its
/// tokens back, as in the AWS SDKs, since it shows the service is answering:
/// a service that fails 50% of attempts at random receives about 10% more
/// attempts, one that fails 20% about 25% more (most of those retries
/// succeed). These are the AWS SDKs' numbers (500 tokens, 5 a retry, 10 a
/// timeout, +1 a success) scaled so that a success repays a tenth of a failed
/// retry instead of a fifth.
///
/// A budget is a handle: clones share one bucket. Its settings are fixed
/// when [`RetryBudget::builder`] builds it.
///
/// ```
/// use huaweicloud_errors::{ErrorMiddleware, RetryBudget};
///
/// // One budget for the two clients that call the same service.
/// let budget = RetryBudget::builder().capacity(200).build();
/// let iam = ErrorMiddleware::builder().retry_budget(budget.clone()).build();
/// let sts = ErrorMiddleware::builder().retry_budget(budget.clone()).build();
/// assert_eq!(budget.available(), 200);
/// # let _ = (iam, sts);
/// ```
#[derive(Clone)]
pub struct RetryBudget {
    shared: Arc<Shared>,
}

struct Shared {
    tokens: AtomicU32,
    capacity: u32,
    retry_cost: u32,
    success_deposit: u32,
}

impl RetryBudget {
    /// A full bucket with the default settings.
    pub fn new() -> Self {
        RetryBudget::builder().build()
    }

    /// A builder for a bucket with settings of its own.
    pub const fn builder() -> RetryBudgetBuilder {
        RetryBudgetBuilder::new()
    }

    /// A new, full bucket of `capacity` tokens with this one's other settings.
    #[deprecated(
        since = "0.1.1",
        note = "returns a new bucket, not shared with this one: use `RetryBudget::builder().capacity(..).build()`"
    )]
    pub fn with_capacity(self, capacity: u32) -> Self {
        self.rebuilt().capacity(capacity).build()
    }

    /// A new, full bucket where a retry costs `cost` tokens (twice that after
    /// a timeout).
    #[deprecated(
        since = "0.1.1",
        note = "returns a new bucket, not shared with this one: use `RetryBudget::builder().retry_cost(..).build()`"
    )]
    pub fn with_retry_cost(self, cost: u32) -> Self {
        self.rebuilt().retry_cost(cost).build()
    }

    /// A new, full bucket where a first-attempt success puts back `deposit` tokens.
    #[deprecated(
        since = "0.1.1",
        note = "returns a new bucket, not shared with this one: use `RetryBudget::builder().success_deposit(..).build()`"
    )]
    pub fn with_success_deposit(self, deposit: u32) -> Self {
        self.rebuilt().success_deposit(deposit).build()
    }

    /// A builder holding this bucket's settings.
    fn rebuilt(&self) -> RetryBudgetBuilder {
        let s = &self.shared;
        RetryBudgetBuilder {
            capacity: s.capacity,
            retry_cost: s.retry_cost,
            success_deposit: s.success_deposit,
        }
    }

    /// The tokens in the bucket now.
    pub fn available(&self) -> u32 {
        self.shared.tokens.load(Ordering::Relaxed)
    }

    /// The bucket's capacity.
    pub fn capacity(&self) -> u32 {
        self.shared.capacity
    }

    /// Takes the cost of one retry, or `None` when the bucket cannot pay it.
    pub(crate) fn withdraw(&self, after_timeout: bool) -> Option<Withdrawal> {
        let cost = if after_timeout {
            self.shared.retry_cost.saturating_mul(2)
        } else {
            self.shared.retry_cost
        };
        self.shared
            .tokens
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |t| t.checked_sub(cost))
            .ok()?;
        Some(Withdrawal {
            budget: self.clone(),
            amount: cost,
        })
    }

    /// Records a call that succeeded at its first attempt.
    pub(crate) fn deposit_success(&self) {
        self.put_back(self.shared.success_deposit);
    }

    fn put_back(&self, amount: u32) {
        if amount == 0 {
            return;
        }
        let capacity = self.shared.capacity;
        let _ = self
            .shared
            .tokens
            // A full bucket is left unwritten: most calls succeed, and a
            // write on every success would bounce the bucket's cache line
            // between the cores of every thread sharing it.
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |t| {
                (t < capacity).then(|| t.saturating_add(amount).min(capacity))
            });
    }
}

/// The settings of a new [`RetryBudget`]; see its `# Default` table.
///
/// ```
/// use huaweicloud_errors::RetryBudget;
///
/// let budget = RetryBudget::builder()
///     .capacity(200)
///     .retry_cost(5)
///     .success_deposit(1)
///     .build();
/// assert_eq!((budget.available(), budget.capacity()), (200, 200));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub struct RetryBudgetBuilder {
    capacity: u32,
    retry_cost: u32,
    success_deposit: u32,
}

impl RetryBudgetBuilder {
    /// The default settings: 1,000 tokens, 10 a retry, 1 back a success.
    pub const fn new() -> Self {
        RetryBudgetBuilder {
            capacity: 1_000,
            retry_cost: 10,
            success_deposit: 1,
        }
    }

    /// The bucket holds `capacity` tokens, and starts full.
    pub const fn capacity(mut self, capacity: u32) -> Self {
        self.capacity = capacity;
        self
    }

    /// A retry costs `cost` tokens, twice that after a timeout.
    pub const fn retry_cost(mut self, cost: u32) -> Self {
        self.retry_cost = cost;
        self
    }

    /// A call that succeeds at its first attempt puts back `deposit` tokens.
    pub const fn success_deposit(mut self, deposit: u32) -> Self {
        self.success_deposit = deposit;
        self
    }

    /// A new, full bucket with these settings.
    pub fn build(self) -> RetryBudget {
        RetryBudget {
            shared: Arc::new(Shared {
                tokens: AtomicU32::new(self.capacity),
                capacity: self.capacity,
                retry_cost: self.retry_cost,
                success_deposit: self.success_deposit,
            }),
        }
    }
}

impl Default for RetryBudgetBuilder {
    fn default() -> Self {
        RetryBudgetBuilder::new()
    }
}

impl Default for RetryBudget {
    fn default() -> Self {
        RetryBudget::new()
    }
}

impl fmt::Debug for RetryBudget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetryBudget")
            .field("available", &self.available())
            .field("capacity", &self.shared.capacity)
            .field("retry_cost", &self.shared.retry_cost)
            .field("success_deposit", &self.shared.success_deposit)
            .finish()
    }
}

/// Tokens taken for a retry that has not been sent yet. Dropped (the call was
/// cancelled during the backoff), they go back to the bucket;
/// [`Withdrawal::send`] keeps them out while the retry is sent.
#[derive(Debug)]
pub(crate) struct Withdrawal {
    budget: RetryBudget,
    amount: u32,
}

impl Withdrawal {
    /// The retry is about to be sent: from now on the tokens stay spent,
    /// whether the retry fails or the call is dropped while it is in flight
    /// (it has reached the server either way), unless it succeeds.
    pub(crate) fn send(mut self) -> Sent {
        let amount = std::mem::take(&mut self.amount);
        Sent {
            budget: self.budget.clone(),
            amount,
        }
    }
}

impl Drop for Withdrawal {
    fn drop(&mut self) {
        self.budget.put_back(self.amount);
    }
}

/// Tokens paid for a retry that was sent. Dropped, they stay spent;
/// [`Sent::refund`] gives them back when the retry succeeded.
#[derive(Debug)]
#[must_use = "dropping it keeps the tokens spent; refund it when the retry succeeded"]
pub(crate) struct Sent {
    budget: RetryBudget,
    amount: u32,
}

impl Sent {
    /// The retry succeeded: its tokens go back to the bucket.
    pub(crate) fn refund(self) {
        self.budget.put_back(self.amount);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_budget_allows_a_burst_of_one_hundred_retries() {
        let budget = RetryBudget::new();
        let spent = std::iter::from_fn(|| budget.withdraw(false))
            .take(1_000)
            .map(Withdrawal::send)
            .count();
        assert_eq!(spent, 100);
        assert_eq!(budget.available(), 0);
    }

    #[test]
    fn timeouts_cost_double_and_unsent_withdrawals_come_back() {
        let budget = RetryBudget::builder().capacity(50).build();
        let w = budget.withdraw(true).unwrap();
        assert_eq!(budget.available(), 30);
        drop(w);
        assert_eq!(budget.available(), 50);
    }

    #[test]
    fn sent_retries_stay_spent_unless_refunded() {
        let budget = RetryBudget::builder().capacity(50).build();
        drop(budget.withdraw(false).unwrap().send());
        assert_eq!(budget.available(), 40);
        budget.withdraw(false).unwrap().send().refund();
        assert_eq!(budget.available(), 40);
    }

    #[test]
    fn successes_refill_up_to_the_capacity() {
        let budget = RetryBudget::builder().capacity(20).build();
        drop(budget.withdraw(false).unwrap().send());
        assert_eq!(budget.available(), 10);
        for _ in 0..9 {
            budget.deposit_success();
        }
        assert_eq!(budget.available(), 19);
        budget.deposit_success();
        budget.deposit_success();
        assert_eq!(budget.available(), 20);
    }

    #[test]
    fn a_refund_that_would_overfill_the_bucket_fills_it_to_its_capacity() {
        let budget = RetryBudget::builder()
            .capacity(100)
            .success_deposit(5)
            .build();
        let sent = budget.withdraw(false).unwrap().send();
        assert_eq!(budget.available(), 90);
        budget.deposit_success();
        assert_eq!(budget.available(), 95);
        // The refund of 10 would make 105.
        sent.refund();
        assert_eq!(budget.available(), 100);
        // An unsent withdrawal dropped into a nearly full bucket, the same.
        let unsent = budget.withdraw(true).unwrap();
        assert_eq!(budget.available(), 80);
        for _ in 0..3 {
            budget.deposit_success();
        }
        drop(unsent);
        assert_eq!(budget.available(), 100);
    }

    #[test]
    fn clones_share_one_bucket() {
        let a = RetryBudget::builder().capacity(10).build();
        let b = a.clone();
        drop(a.withdraw(false).unwrap().send());
        assert!(b.withdraw(false).is_none());
    }

    #[test]
    #[allow(deprecated)]
    fn the_deprecated_with_setters_still_make_a_new_full_bucket() {
        let old = RetryBudget::new();
        drop(old.withdraw(false).unwrap().send());
        let budget = old
            .clone()
            .with_capacity(40)
            .with_retry_cost(20)
            .with_success_deposit(2);
        assert_eq!((budget.available(), budget.capacity()), (40, 40));
        assert_eq!(old.available(), 990, "the old bucket is not the new one");
        drop(budget.withdraw(false).unwrap().send());
        assert_eq!(budget.available(), 20);
        budget.deposit_success();
        assert_eq!(budget.available(), 22);
    }
}

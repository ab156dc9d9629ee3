//! The virtual-time runtime itself: timers fire in deadline order with the
//! clock reading exactly their deadline, moved timers follow, `block_on`
//! jumps only as far as needed, and pipes apply backpressure and EOF.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_lite::{AsyncReadExt, AsyncWriteExt};
use sio_driver::testing::{pipe, VirtualRuntime};
use sio_driver::Runtime;

#[test]
fn timers_fire_in_deadline_order_at_exactly_their_deadline() {
    let rt = VirtualRuntime::new();
    let fired = Arc::new(Mutex::new(Vec::new()));
    for ms in [30u64, 10, 20, 10] {
        let (rt2, fired) = (rt.clone(), fired.clone());
        let at = rt.now() + Duration::from_millis(ms);
        rt.spawn(Box::pin(async move {
            rt2.sleep_until(at).await;
            fired.lock().unwrap().push((ms, rt2.now() - rt2.epoch()));
        }));
    }
    rt.run_until_idle();
    assert_eq!(rt.next_deadline(), Some(Duration::from_millis(10)));
    rt.advance(Duration::from_millis(25));
    assert_eq!(rt.elapsed(), Duration::from_millis(25));
    assert_eq!(
        *fired.lock().unwrap(),
        vec![
            (10, Duration::from_millis(10)),
            (10, Duration::from_millis(10)),
            (20, Duration::from_millis(20)),
        ]
    );
    rt.advance(Duration::from_millis(5) - Duration::from_nanos(1));
    assert_eq!(fired.lock().unwrap().len(), 3);
    rt.advance(Duration::from_nanos(1));
    assert_eq!(fired.lock().unwrap()[3], (30, Duration::from_millis(30)));
    assert_eq!(rt.next_deadline(), None);
}

#[test]
fn a_reset_timer_fires_at_its_new_deadline_only() {
    let rt = VirtualRuntime::new();
    let mut timer = rt.timer(rt.now() + Duration::from_secs(1));
    let waker = futures_lite::future::block_on(futures_lite::future::poll_fn(|cx| {
        std::task::Poll::Ready(cx.waker().clone())
    }));
    let mut cx = std::task::Context::from_waker(&waker);
    assert!(timer.poll_fire(&mut cx).is_pending());
    timer.reset(rt.now() + Duration::from_secs(3));
    assert!(timer.poll_fire(&mut cx).is_pending());
    assert_eq!(rt.next_deadline(), Some(Duration::from_secs(3)));
    rt.advance(Duration::from_secs(2));
    assert!(timer.poll_fire(&mut cx).is_pending());
    rt.advance(Duration::from_secs(1));
    assert!(timer.poll_fire(&mut cx).is_ready());
    drop(timer);
    assert_eq!(rt.next_deadline(), None);
}

#[test]
fn block_on_moves_time_only_as_far_as_the_future_needs() {
    let rt = VirtualRuntime::new();
    let rt2 = rt.clone();
    let out = rt.block_on(async move {
        rt2.sleep_until(rt2.now() + Duration::from_secs(90)).await;
        7
    });
    assert_eq!(out, 7);
    assert_eq!(rt.elapsed(), Duration::from_secs(90));
    let wall = rt
        .wall_clock()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    assert_eq!(wall, Duration::from_secs(1_700_000_090));
}

#[test]
#[should_panic(expected = "no timer can wake")]
fn block_on_a_future_nothing_can_wake_panics_instead_of_hanging() {
    let rt = VirtualRuntime::new();
    rt.block_on(futures_lite::future::pending::<()>());
}

#[test]
fn a_pipe_applies_backpressure_and_ends_with_eof() {
    let rt = VirtualRuntime::new();
    let (mut a, mut b) = pipe(4);
    let writer = rt.spawn_task(async move {
        a.write_all(b"0123456789").await.unwrap();
        a.close().await.unwrap();
        a
    });
    rt.run_until_idle();
    assert!(!writer.is_finished(), "the writer waits for room");
    assert_eq!(b.readable(), 4);
    let reader = rt.spawn_task(async move {
        let mut all = Vec::new();
        b.read_to_end(&mut all).await.unwrap();
        all
    });
    rt.run_until_idle();
    assert!(writer.is_finished());
    assert_eq!(reader.take(), b"0123456789");
    let mut a = writer.take();
    // The reader went away: writes fail.
    assert_eq!(
        a.write_now(b"x").unwrap_err().kind(),
        std::io::ErrorKind::BrokenPipe
    );
}

//! Copying a reader to a writer through a [`Redactor`], with prompt output on pauses.

use std::io::{self, Read, Write};
use std::sync::mpsc;
use std::time::Duration;

use crate::redactor::{Redactor, StreamError};

/// Read size.
const READ: usize = 1 << 20;

/// How long to wait for more input before treating a quiet input as paused. Short enough that
/// each line of an interactive stream shows at once; long enough that a fast producer keeps
/// the redactor in its batched mode.
const GRACE: Duration = Duration::from_millis(5);

/// Copies `input` to `output` through `redactor` until end of input.
///
/// When input pauses, everything that can no longer be part of a secret is written at once;
/// bytes that could still complete one are held for at most `max_delay`, then redacted rather
/// than released. The reader runs on its own thread so pauses can be timed.
///
/// # Errors
/// [`StreamError::BufferLimit`] (nothing unchecked is written), or I/O errors from either side;
/// a broken pipe on `output` is returned as an I/O error of kind `BrokenPipe`.
pub fn copy<R, W>(
    input: R,
    output: &mut W,
    redactor: &mut Redactor,
    max_delay: Duration,
) -> Result<(), StreamError>
where
    R: Read + Send + 'static,
    W: Write,
{
    // (buffer, bytes filled): buffers keep their full length and go back to the reader once
    // consumed, so each is allocated and zeroed once (re-zeroing a 1 MiB buffer after every
    // 64 KiB pipe read cost a quarter of the CPU time of `cat | redact`).
    let (tx, rx) = mpsc::sync_channel::<io::Result<(Vec<u8>, usize)>>(4);
    let (give_back, returned) = mpsc::channel::<Vec<u8>>();
    let reader = std::thread::spawn(move || {
        let mut input = input;
        loop {
            let mut buf = returned.try_recv().unwrap_or_else(|_| vec![0u8; READ]);
            match input.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    if tx.send(Ok((buf, n))).is_err() {
                        break;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    let _ = tx.send(Err(e));
                    break;
                }
            }
        }
    });
    let mut out = Vec::with_capacity(READ * 2);
    let result = (|| {
        let mut quiet_since_flush = false;
        loop {
            let wait = if redactor.pending() == 0 {
                None
            } else if quiet_since_flush {
                Some(max_delay)
            } else {
                Some(GRACE)
            };
            let msg = match wait {
                None => rx.recv().map_err(|_| mpsc::RecvTimeoutError::Disconnected),
                Some(t) => rx.recv_timeout(t),
            };
            match msg {
                Ok(Ok((chunk, n))) => {
                    quiet_since_flush = false;
                    redactor.push(&chunk[..n], &mut out)?;
                    let _ = give_back.send(chunk);
                }
                Ok(Err(e)) => return Err(StreamError::Io(e)),
                Err(mpsc::RecvTimeoutError::Timeout) if !quiet_since_flush => {
                    // Paused: release what is clean, hold what might still be a secret.
                    quiet_since_flush = redactor.flush_idle(&mut out) > 0;
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    // Held for max_delay: redact rather than release.
                    redactor.flush_expired(&mut out);
                    quiet_since_flush = false;
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    redactor.finish(&mut out);
                    output.write_all(&out)?;
                    output.flush()?;
                    return Ok(());
                }
            }
            if !out.is_empty() {
                output.write_all(&out)?;
                output.flush()?;
                out.clear();
            }
        }
    })();
    drop(rx);
    // The reader thread ends at end of input or when the channel closes; do not wait for a
    // reader blocked on a terminal after an error.
    if result.is_ok() {
        let _ = reader.join();
    }
    result
}

//! Progress events of long work. The library never prints: it emits these, and the CLI (an
//! indicatif bar) or the notebook extension (throttled lines) decides how to show them.

/// What happened in a training run.
#[derive(Debug, Clone, PartialEq)]
pub enum TrainEvent {
    /// Training starts at `first_epoch` (0, or the epoch after a resumed checkpoint) of
    /// `total_epochs`.
    Started {
        variant: String,
        first_epoch: u64,
        total_epochs: u64,
    },
    /// One epoch finished: the train loss before its step and the test loss after it.
    Epoch {
        epoch: u64,
        train_loss: f64,
        test_loss: f64,
    },
    /// A checkpoint was written.
    Checkpoint { epoch: u64 },
    /// All files are written.
    Finished {
        final_train_loss: f64,
        final_test_loss: f64,
    },
}

/// A receiver of progress events.
pub trait Progress {
    fn event(&mut self, event: &TrainEvent);

    /// Asked after every epoch: true ends the run there with [`crate::Error::Interrupted`]
    /// (a notebook's interrupt button, say); what is on disk stays resumable from its last
    /// checkpoint.
    fn should_stop(&mut self) -> bool {
        false
    }
}

/// Ignores every event.
pub struct NoProgress;

impl Progress for NoProgress {
    fn event(&mut self, _event: &TrainEvent) {}
}

impl<F: FnMut(&TrainEvent)> Progress for F {
    fn event(&mut self, event: &TrainEvent) {
        self(event)
    }
}

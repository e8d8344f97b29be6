//! Progress events of long work. The library never prints: it emits these, and the CLI (an
//! indicatif bar) or the notebook extension (throttled lines) decides how to show them.

/// What happened in a training run.
#[derive(Debug, Clone, PartialEq)]
pub enum TrainEvent {
    /// Training starts at `first_epoch` (0, or the epoch after a resumed checkpoint) of
    /// `total_epochs`.
    Started {
        /// The variant trained.
        variant: String,
        /// The first epoch of this run (0, or where a resumed run continues).
        first_epoch: u64,
        /// Epochs the run ends at.
        total_epochs: u64,
    },
    /// One epoch finished: the train loss before its step and the test loss after it.
    Epoch {
        /// The epoch.
        epoch: u64,
        /// Training loss before its step.
        train_loss: f64,
        /// Test loss after it.
        test_loss: f64,
    },
    /// A checkpoint was written.
    Checkpoint {
        /// The checkpoint's epoch.
        epoch: u64,
    },
    /// All files are written.
    Finished {
        /// Training loss of the last epoch.
        final_train_loss: f64,
        /// Test loss of the last epoch.
        final_test_loss: f64,
    },
}

/// A receiver of progress events.
pub trait Progress {
    /// Receives one event, in training order.
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

//! The terminal UI: browse a model — overview, tensor tree with live statistics and histograms,
//! layers across depth, open versus closed.
//!
//! How it is built (gitui/bottom style, see `../shared/TUI.md`):
//!
//! - [`data`] is the only module that reads the library's model and architecture; it builds the
//!   [`data::ModelView`] the screens draw from, once, from headers only. [`diff_view`] does the
//!   same for the comparison of `glassbox A B` (the Diff tab), and the Transparency tab draws the
//!   library's [`crate::transparency::TransparencyReport`] as it is; both are built on background
//!   threads and arrive as messages.
//! - [`app`] holds all state. [`app::App::update`] applies one [`app::Msg`] (key, mouse, resize,
//!   statistics event, progress) and returns [`app::Command`]s; it does no I/O, so tests drive it
//!   with synthetic messages. [`mod@derive`] rebuilds the derived data (rows, aggregates, layer grid);
//!   [`diff_tab`] and [`transparency_tab`] hold those tabs' selections.
//! - [`ui::render`] draws a frame from `&App`, nothing else.
//! - [`keys`] is the key-binding table that drives keys, footer hints and the `?` help alike.
//! - `run` owns the terminal: an input thread (key presses, throttled wheel), the statistics
//!   engine (on its own rayon pool), the comparison and the transparency report (each on its own
//!   thread) reporting through the same channel, and one loop
//!   that drains messages, updates, and draws — at once after input, at most ~30 times a second
//!   while only results arrive. The terminal is restored on quit, error and panic.

pub mod app;
mod background;
pub mod choices;
pub mod data;
pub mod derive;
pub mod diff_tab;
pub mod diff_view;
mod geometry;
pub mod keys;
pub mod layout;
mod run;
pub mod transparency_tab;
pub mod tree;
pub mod ui;

pub use run::{BrowseOptions, browse, browse_diff};

//! Key bindings as data: one table per context. [`action_for`] reads it to handle a key, the footer
//! reads it for its hints and the `?` overlay lists all of it, so the three cannot drift apart.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// Where a key is pressed: bindings of the current context are tried before the global ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    Global,
    Overview,
    Tensors,
    Layers,
    Transparency,
    Diff,
    /// Typing a filter in the Tensors tab.
    Search,
    /// The help overlay is open.
    Help,
}

impl Context {
    pub fn title(self) -> &'static str {
        match self {
            Context::Global => "everywhere",
            Context::Overview => "overview",
            Context::Tensors => "tensors",
            Context::Layers => "layers",
            Context::Transparency => "transparency",
            Context::Diff => "diff",
            Context::Search => "while filtering",
            Context::Help => "help",
        }
    }
}

/// What a key does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Quit,
    Tab(usize),
    NextTab,
    PrevTab,
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    Expand,
    Collapse,
    Toggle,
    Filter,
    ClearFilter,
    AcceptFilter,
    Sort,
    LogScale,
    NextStatistic,
    Copy,
    /// The Diff map's cursor: a changed cell left or right, a changed layer up or down.
    CellLeft,
    CellRight,
    LayerUp,
    LayerDown,
    MouseCapture,
    Help,
    CloseHelp,
}

/// One key of a binding: a code and whether Ctrl is held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    pub code: KeyCode,
    pub ctrl: bool,
}

const fn k(c: char) -> Key {
    Key {
        code: KeyCode::Char(c),
        ctrl: false,
    }
}

const fn code(code: KeyCode) -> Key {
    Key { code, ctrl: false }
}

/// One binding: its keys, how they are written, what they do.
#[derive(Debug, Clone, Copy)]
pub struct Binding {
    pub context: Context,
    pub keys: &'static [Key],
    /// The keys as the footer and help write them.
    pub label: &'static str,
    pub action: Action,
    pub help: &'static str,
    /// Shown in the footer (the rest only in `?`).
    pub hint: bool,
}

const fn b(
    context: Context,
    keys: &'static [Key],
    label: &'static str,
    action: Action,
    help: &'static str,
    hint: bool,
) -> Binding {
    Binding {
        context,
        keys,
        label,
        action,
        help,
        hint,
    }
}

use Context::{Diff, Global, Help, Layers, Overview, Search, Tensors, Transparency};

/// Ctrl-C (it quits everywhere, even while typing a filter).
const CTRL_C: Key = Key {
    code: KeyCode::Char('c'),
    ctrl: true,
};

/// Every binding, context by context. Order is display order.
#[rustfmt::skip]
pub const BINDINGS: &[Binding] = &[
    b(Overview, &[k('j'), code(KeyCode::Down)], "j/k", Action::Down, "scroll the findings", true),
    b(Overview, &[k('k'), code(KeyCode::Up)], "", Action::Up, "scroll the findings up", false),
    b(Overview, &[k('g'), code(KeyCode::Home)], "g/G", Action::Top, "first finding", false),
    b(Overview, &[k('G'), code(KeyCode::End)], "", Action::Bottom, "last finding", false),
    b(Overview, &[code(KeyCode::PageDown)], "PgDn", Action::PageDown, "scroll the checks down", false),
    b(Overview, &[code(KeyCode::PageUp)], "PgUp", Action::PageUp, "scroll the checks up", false),
    b(Tensors, &[k('j'), code(KeyCode::Down)], "j/k", Action::Down, "move down", true),
    b(Tensors, &[k('k'), code(KeyCode::Up)], "", Action::Up, "move up", false),
    b(Tensors, &[code(KeyCode::PageDown)], "PgDn", Action::PageDown, "page down", false),
    b(Tensors, &[code(KeyCode::PageUp)], "PgUp", Action::PageUp, "page up", false),
    b(Tensors, &[k('g'), code(KeyCode::Home)], "g/G", Action::Top, "first row", false),
    b(Tensors, &[k('G'), code(KeyCode::End)], "", Action::Bottom, "last row", false),
    b(Tensors, &[code(KeyCode::Enter), k(' ')], "Enter", Action::Toggle, "expand / collapse", true),
    b(Tensors, &[k('l'), code(KeyCode::Right)], "l/→", Action::Expand, "expand", false),
    b(Tensors, &[k('h'), code(KeyCode::Left)], "h/←", Action::Collapse, "collapse (or go to parent)", false),
    b(Tensors, &[k('/')], "/", Action::Filter, "filter by name (substring, or glob with * ?)", true),
    b(Tensors, &[code(KeyCode::Esc)], "Esc", Action::ClearFilter, "clear the filter", false),
    b(Tensors, &[k('s')], "s", Action::Sort, "next sort order (name, size, std, abs max, zeros)", true),
    b(Tensors, &[k('L')], "L", Action::LogScale, "histogram linear / log", true),
    b(Tensors, &[k('y')], "y", Action::Copy, "copy the selected name (OSC 52)", true),
    b(Layers, &[k('t')], "t", Action::NextStatistic, "next statistic (std, abs max, L2, zeros, outliers)", true),
    b(Layers, &[k('j'), code(KeyCode::Down)], "j/k", Action::Down, "scroll the layer grid", true),
    b(Layers, &[k('k'), code(KeyCode::Up)], "", Action::Up, "scroll the layer grid up", false),
    b(Layers, &[code(KeyCode::PageDown)], "PgDn", Action::PageDown, "page down the layer grid", false),
    b(Layers, &[code(KeyCode::PageUp)], "PgUp", Action::PageUp, "page up the layer grid", false),
    b(Layers, &[k('g'), code(KeyCode::Home)], "g/G", Action::Top, "first layer", false),
    b(Layers, &[k('G'), code(KeyCode::End)], "", Action::Bottom, "last layer", false),
    b(Transparency, &[k('j'), code(KeyCode::Down)], "j/k", Action::Down, "next item (its evidence below)", true),
    b(Transparency, &[k('k'), code(KeyCode::Up)], "", Action::Up, "previous item", false),
    b(Transparency, &[code(KeyCode::PageDown)], "PgDn", Action::PageDown, "page down the items", false),
    b(Transparency, &[code(KeyCode::PageUp)], "PgUp", Action::PageUp, "page up the items", false),
    b(Transparency, &[k('g'), code(KeyCode::Home)], "g/G", Action::Top, "first item", false),
    b(Transparency, &[k('G'), code(KeyCode::End)], "", Action::Bottom, "last item", false),
    b(Diff, &[k('j'), code(KeyCode::Down)], "j/k", Action::Down, "move in the changed tensors (the map follows)", true),
    b(Diff, &[k('k'), code(KeyCode::Up)], "", Action::Up, "previous changed tensor", false),
    b(Diff, &[code(KeyCode::PageDown)], "PgDn", Action::PageDown, "page down the changed tensors", false),
    b(Diff, &[code(KeyCode::PageUp)], "PgUp", Action::PageUp, "page up the changed tensors", false),
    b(Diff, &[k('g'), code(KeyCode::Home)], "g/G", Action::Top, "largest change", false),
    b(Diff, &[k('G'), code(KeyCode::End)], "", Action::Bottom, "smallest change", false),
    b(Diff, &[k('h'), code(KeyCode::Left)], "h/l", Action::CellLeft, "map: changed cell to the left (the list follows)", true),
    b(Diff, &[k('l'), code(KeyCode::Right)], "", Action::CellRight, "map: changed cell to the right", false),
    b(Diff, &[k('J')], "J/K", Action::LayerDown, "map: next changed layer down", true),
    b(Diff, &[k('K')], "", Action::LayerUp, "map: next changed layer up", false),
    b(Diff, &[k('L')], "L", Action::LogScale, "histogram of |Δ| linear / log counts", true),
    b(Diff, &[k('y')], "y", Action::Copy, "copy the selected tensor's name (OSC 52)", false),
    b(Search, &[code(KeyCode::Enter)], "Enter", Action::AcceptFilter, "keep the filter", true),
    b(Search, &[code(KeyCode::Esc)], "Esc", Action::ClearFilter, "clear the filter", true),
    b(Help, &[k('j'), code(KeyCode::Down)], "j/k", Action::Down, "scroll this list", true),
    b(Help, &[k('k'), code(KeyCode::Up)], "", Action::Up, "scroll this list up", false),
    b(Help, &[code(KeyCode::PageDown)], "PgDn", Action::PageDown, "page down this list", false),
    b(Help, &[code(KeyCode::PageUp)], "PgUp", Action::PageUp, "page up this list", false),
    b(Help, &[k('g'), code(KeyCode::Home)], "g/G", Action::Top, "top of this list", false),
    b(Help, &[k('G'), code(KeyCode::End)], "", Action::Bottom, "end of this list", false),
    b(Help, &[code(KeyCode::Esc), k('?'), k('q')], "Esc/?", Action::CloseHelp, "close help", true),
    b(Global, &[k('1')], "1-5", Action::Tab(0), "Overview", false),
    b(Global, &[k('2')], "", Action::Tab(1), "Tensors", false),
    b(Global, &[k('3')], "", Action::Tab(2), "Layers", false),
    b(Global, &[k('4')], "", Action::Tab(3), "Transparency", false),
    b(Global, &[k('5')], "", Action::Tab(4), "Diff (when opened on two models: glassbox A B)", false),
    b(Global, &[code(KeyCode::Tab)], "Tab", Action::NextTab, "next tab", false),
    b(Global, &[code(KeyCode::BackTab)], "S-Tab", Action::PrevTab, "previous tab", false),
    b(Global, &[k('m')], "m", Action::MouseCapture, "mouse capture on/off (off keeps text selection)", false),
    b(Global, &[k('?')], "?", Action::Help, "help: every key", true),
    b(Global, &[k('q'), CTRL_C], "q", Action::Quit, "quit (also Ctrl-C)", true),
];

/// The contexts tried for a key, most specific first.
fn chain(context: Context) -> &'static [Context] {
    match context {
        // While typing, only the search keys (and Ctrl-C) act: letters go into the filter.
        Search => &[Search],
        Help => &[Help, Global],
        Tensors => &[Tensors, Global],
        Layers => &[Layers, Global],
        Transparency => &[Transparency, Global],
        Diff => &[Diff, Global],
        Overview => &[Overview, Global],
        Global => &[Global],
    }
}

fn matches(key: &Key, event: &KeyEvent) -> bool {
    let ctrl = event.modifiers.contains(KeyModifiers::CONTROL);
    // Shifted letters arrive as upper-case chars (with SHIFT set or not, depending on the
    // terminal): compare the char, and Ctrl only.
    key.code == event.code && key.ctrl == ctrl
}

/// The action of `event` in `context`, if any. Ctrl-C quits everywhere.
pub fn action_for(context: Context, event: &KeyEvent) -> Option<Action> {
    if event.code == KeyCode::Char('c') && event.modifiers.contains(KeyModifiers::CONTROL) {
        return Some(Action::Quit);
    }
    chain(context).iter().find_map(|&c| {
        BINDINGS
            .iter()
            .filter(|b| b.context == c)
            .find(|b| b.keys.iter().any(|k| matches(k, event)))
            .map(|b| b.action)
    })
}

/// The footer hints of a context: `(keys, what)` pairs, context first, then the global ones.
pub fn hints(context: Context) -> Vec<(&'static str, &'static str)> {
    chain(context)
        .iter()
        .flat_map(|&c| BINDINGS.iter().filter(move |b| b.context == c && b.hint))
        .map(|b| (b.label, short(b.help)))
        .collect()
}

/// The first words of a help text, for the footer.
fn short(help: &'static str) -> &'static str {
    let cut = help.find([' ', ':', '(']).unwrap_or(help.len());
    match help {
        h if h.starts_with("move") => "move",
        h if h.starts_with("expand") => "expand",
        h if h.starts_with("next sort") => "sort",
        h if h.starts_with("histogram") => "log",
        h if h.starts_with("copy") => "copy",
        h if h.starts_with("next statistic") => "statistic",
        h if h.starts_with("next item") => "move",
        h if h.starts_with("move in") => "move",
        h if h.starts_with("map: changed cell") => "map across",
        h if h.starts_with("map: next changed layer") => "map layers",
        h if h.starts_with("histogram of") => "log",
        h if h.starts_with("scroll") => "scroll",
        h if h.starts_with("keep") => "keep",
        h if h.starts_with("clear") => "clear",
        h if h.starts_with("close") => "close",
        _ => &help[..cut],
    }
}

/// The help overlay's rows: `(context title, keys written out, what they do)`.
pub fn help_rows() -> Vec<(&'static str, String, &'static str)> {
    BINDINGS
        .iter()
        .map(|b| (b.context.title(), keys_text(b), b.help))
        .collect()
}

fn keys_text(b: &Binding) -> String {
    b.keys
        .iter()
        .map(|k| {
            let name = match k.code {
                KeyCode::Char(' ') => "Space".to_owned(),
                KeyCode::Char(c) => c.to_string(),
                KeyCode::Enter => "Enter".into(),
                KeyCode::Esc => "Esc".into(),
                KeyCode::Tab => "Tab".into(),
                KeyCode::BackTab => "Shift-Tab".into(),
                KeyCode::Up => "↑".into(),
                KeyCode::Down => "↓".into(),
                KeyCode::Left => "←".into(),
                KeyCode::Right => "→".into(),
                KeyCode::PageUp => "PgUp".into(),
                KeyCode::PageDown => "PgDn".into(),
                KeyCode::Home => "Home".into(),
                KeyCode::End => "End".into(),
                other => format!("{other:?}"),
            };
            if k.ctrl { format!("Ctrl-{name}") } else { name }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn press(c: KeyCode) -> KeyEvent {
        KeyEvent::new(c, KeyModifiers::NONE)
    }

    #[test]
    fn context_bindings_win_and_global_ones_apply_everywhere_but_search() {
        assert_eq!(
            action_for(Tensors, &press(KeyCode::Char('j'))),
            Some(Action::Down)
        );
        assert_eq!(action_for(Layers, &press(KeyCode::Char('s'))), None);
        assert_eq!(
            action_for(Layers, &press(KeyCode::Char('j'))),
            Some(Action::Down)
        );
        assert_eq!(
            action_for(Layers, &press(KeyCode::Char('2'))),
            Some(Action::Tab(1))
        );
        assert_eq!(action_for(Search, &press(KeyCode::Char('q'))), None);
        assert_eq!(
            action_for(Help, &press(KeyCode::Char('q'))),
            Some(Action::CloseHelp)
        );
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(action_for(Search, &ctrl_c), Some(Action::Quit));
        assert_eq!(
            action_for(Tensors, &press(KeyCode::Char('L'))),
            Some(Action::LogScale)
        );
    }

    #[test]
    fn every_hint_and_help_row_comes_from_a_binding_with_keys() {
        assert!(
            BINDINGS
                .iter()
                .all(|b| !b.keys.is_empty() && !b.help.is_empty())
        );
        assert!(BINDINGS.iter().all(|b| !b.hint || !b.label.is_empty()));
        assert_eq!(help_rows().len(), BINDINGS.len());
        let hints = hints(Tensors);
        assert_eq!(hints.first(), Some(&("j/k", "move")));
        assert_eq!(hints.last(), Some(&("q", "quit")));
    }
}

//! Finding and pressing elements of the kiosk window the way a patron or a screen reader does:
//! by accessible label.

use i_slint_backend_testing::ElementHandle;
use selfcheck::ui::AppWindow;

pub fn labelled(window: &AppWindow, label: &str) -> Vec<ElementHandle> {
    ElementHandle::find_by_accessible_label(window, label).collect()
}

pub fn one(window: &AppWindow, label: &str) -> ElementHandle {
    let found = labelled(window, label);
    assert_eq!(found.len(), 1, "exactly one element labelled {label:?}");
    found.into_iter().next().expect("one")
}

pub fn press(window: &AppWindow, label: &str) {
    one(window, label).invoke_accessible_default_action();
}

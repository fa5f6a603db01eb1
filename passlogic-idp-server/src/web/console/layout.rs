//! What every console page shares: the header with the section menu, the administrator's name,
//! sign-out and the language switch. Page structs hold a [`ConsoleChrome`] and the two
//! catalogues, and their templates extend `console/layout.html`.

use axum::http::Uri;

use super::Admin;
use crate::i18n::console::ConsoleTexts;
use crate::i18n::Texts;
use crate::web::pages::Chrome;

/// A console section: its menu entry and path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Section {
    Dashboard,
    Users,
    Import,
    Groups,
    Services,
    Tokens,
    Directory,
    Audit,
    Guides,
}

/// One entry of the header menu.
pub struct NavItem {
    pub href: &'static str,
    pub label: &'static str,
    pub current: bool,
}

/// The chrome of a console page.
pub struct ConsoleChrome {
    /// `<html lang>`.
    pub lang: &'static str,
    /// Page title.
    pub title: String,
    /// Link that switches the language and stays on this page.
    pub switch_href: String,
    /// The header menu.
    pub nav: Vec<NavItem>,
    /// Who is signed in.
    pub admin_name: String,
    /// CSRF token (sign-out form and the page's own forms).
    pub csrf: String,
}

impl ConsoleChrome {
    /// The chrome for `admin` on a page of `section`.
    pub fn new(admin: &Admin, section: Section, title: impl Into<String>) -> ConsoleChrome {
        let c = admin.lang.console();
        let entries: [(Section, &'static str, &'static str); 9] = [
            (Section::Dashboard, "/console", c.nav_dashboard),
            (Section::Users, "/console/users", c.nav_users),
            (Section::Import, "/console/import", c.nav_import),
            (Section::Groups, "/console/groups", c.nav_groups),
            (Section::Services, "/console/services", c.nav_services),
            (Section::Tokens, "/console/tokens", c.nav_tokens),
            (Section::Directory, "/console/directory", c.nav_directory),
            (Section::Audit, "/console/audit", c.nav_audit),
            (Section::Guides, "/console/guides", c.nav_guides),
        ];
        ConsoleChrome {
            lang: admin.lang.tag(),
            title: title.into(),
            switch_href: switch_href(admin.lang, &admin.uri),
            nav: entries
                .iter()
                .map(|(s, href, label)| NavItem {
                    href,
                    label,
                    current: *s == section,
                })
                .collect(),
            admin_name: admin.user.display_name.clone(),
            csrf: admin.csrf.clone(),
        }
    }
}

fn switch_href(lang: crate::i18n::Lang, uri: &Uri) -> String {
    Chrome::new(lang, "", uri).switch_href
}

/// The catalogues a console template reads: `t` (shared page texts) and `c` (console texts).
pub fn texts(admin: &Admin) -> (&'static Texts, &'static ConsoleTexts) {
    (admin.lang.texts(), admin.lang.console())
}

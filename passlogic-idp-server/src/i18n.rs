//! Page texts in English and Japanese.
//!
//! Every language is one value of the same struct, so a missing translation does not compile.
//! The language comes from `?lang=`, then the `pl_lang` cookie, then `Accept-Language`.

/// A supported language.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    /// English (default).
    En,
    /// Japanese.
    Ja,
}

impl Lang {
    /// BCP 47 tag for `<html lang>`.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Ja => "ja",
        }
    }

    /// Parses `en` / `ja` (as in `?lang=` or the cookie).
    pub fn parse(s: &str) -> Option<Lang> {
        match s.trim().to_ascii_lowercase().as_str() {
            "en" => Some(Lang::En),
            "ja" => Some(Lang::Ja),
            _ => None,
        }
    }

    /// Picks the best language from an `Accept-Language` header (quality values honoured).
    pub fn from_accept_language(header: &str) -> Lang {
        let mut best = (Lang::En, -1.0f32);
        for part in header.split(',') {
            let mut pieces = part.trim().split(';');
            let tag = pieces.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = pieces
                .find_map(|p| {
                    p.trim()
                        .strip_prefix("q=")
                        .and_then(|q| q.parse::<f32>().ok())
                })
                .unwrap_or(1.0);
            let lang = if tag == "ja" || tag.starts_with("ja-") {
                Some(Lang::Ja)
            } else if tag == "en" || tag.starts_with("en-") {
                Some(Lang::En)
            } else {
                None
            };
            if let Some(lang) = lang {
                if q > best.1 {
                    best = (lang, q);
                }
            }
        }
        best.0
    }

    /// The texts of this language.
    pub fn texts(self) -> &'static Texts {
        match self {
            Lang::En => &EN,
            Lang::Ja => &JA,
        }
    }
}

/// Every string a page shows.
#[derive(Debug)]
pub struct Texts {
    pub product: &'static str,
    pub switch_to_other: &'static str,
    pub other_lang_code: &'static str,
    pub sign_in_title: &'static str,
    pub user_id_label: &'static str,
    pub next: &'static str,
    pub grid_title: &'static str,
    pub grid_help: &'static str,
    pub grid_keyboard_note: &'static str,
    pub otp_label: &'static str,
    pub sign_in: &'static str,
    pub start_over: &'static str,
    pub sign_in_failed: &'static str,
    pub grid_expires: &'static str,
    pub setup_title: &'static str,
    pub setup_help: &'static str,
    pub setup_rules: &'static str,
    pub pattern_label: &'static str,
    pub pattern_confirm_label: &'static str,
    pub clear: &'static str,
    pub save_pattern: &'static str,
    pub mismatch: &'static str,
    pub same_as_initial: &'static str,
    pub rule_too_short: &'static str,
    pub rule_too_long: &'static str,
    pub rule_out_of_range: &'static str,
    pub rule_single_stroke: &'static str,
    pub rule_block_unused: &'static str,
    pub rule_straight_line: &'static str,
    pub rule_malformed: &'static str,
    pub home_title: &'static str,
    pub signed_in_as: &'static str,
    pub methods_used: &'static str,
    pub signed_in_at: &'static str,
    pub sign_out: &'static str,
    pub error_title: &'static str,
    pub error_forbidden: &'static str,
    pub error_internal: &'static str,
    pub back_to_sign_in: &'static str,
}

/// English.
pub static EN: Texts = Texts {
    product: "PassLogic IdP",
    switch_to_other: "日本語",
    other_lang_code: "ja",
    sign_in_title: "Sign in",
    user_id_label: "User ID",
    next: "Next",
    grid_title: "One-time password",
    grid_help: "Type the digits in the cells of your pattern, in your pattern's order.",
    grid_keyboard_note: "The digits cannot be clicked: type them on your keyboard.",
    otp_label: "One-time password",
    sign_in: "Sign in",
    start_over: "Use another user ID",
    sign_in_failed: "Sign-in failed. Check your pattern and type the digits of this new grid. After repeated failures the account is locked; your administrator can unlock it.",
    grid_expires: "This grid expires in a few minutes and can be answered once.",
    setup_title: "Choose your pattern",
    setup_help: "Your initial pattern worked. Now choose your own: click the cells in the order you will remember. From now on you type the digits shown in these cells.",
    setup_rules: "Rules",
    pattern_label: "Pattern (cells in order)",
    pattern_confirm_label: "Pattern again",
    clear: "Clear",
    save_pattern: "Save pattern and sign in",
    mismatch: "The two patterns differ. Enter the same pattern twice.",
    same_as_initial: "Choose a pattern that differs from your initial pattern.",
    rule_too_short: "The pattern is too short.",
    rule_too_long: "The pattern is too long.",
    rule_out_of_range: "The pattern uses a cell outside the grid.",
    rule_single_stroke: "The pattern can be drawn in one stroke; jump between cells that do not touch.",
    rule_block_unused: "Use at least one cell in every block.",
    rule_straight_line: "The pattern is a straight line; choose cells that are not all on one line.",
    rule_malformed: "Enter the pattern as cell numbers separated by commas.",
    home_title: "Signed in",
    signed_in_as: "Signed in as",
    methods_used: "Methods used",
    signed_in_at: "Signed in at (UTC)",
    sign_out: "Sign out",
    error_title: "Something went wrong",
    error_forbidden: "The form expired or did not come from this site. Go back to the sign-in page and try again.",
    error_internal: "The service could not complete your request. Try again in a moment.",
    back_to_sign_in: "Back to sign-in",
};

/// Japanese.
pub static JA: Texts = Texts {
    product: "PassLogic IdP",
    switch_to_other: "English",
    other_lang_code: "en",
    sign_in_title: "ログイン",
    user_id_label: "ユーザーID",
    next: "次へ",
    grid_title: "ワンタイムパスワード",
    grid_help: "あなたのパターンのマスに表示されている数字を、パターンの順番どおりに入力してください。",
    grid_keyboard_note: "数字はクリックできません。キーボードで入力してください。",
    otp_label: "ワンタイムパスワード",
    sign_in: "ログイン",
    start_over: "別のユーザーIDを使う",
    sign_in_failed: "ログインできませんでした。パターンを確認し、新しい表の数字を入力してください。失敗が続くとアカウントはロックされます。ロックの解除は管理者に依頼してください。",
    grid_expires: "この表は数分で無効になり、一度だけ回答できます。",
    setup_title: "パターンの設定",
    setup_help: "初期パターンでの認証に成功しました。ご自身のパターンを決めてください。覚えやすい順番でマスをクリックします。次回からは、これらのマスに表示される数字を入力します。",
    setup_rules: "ルール",
    pattern_label: "パターン(マスの順番)",
    pattern_confirm_label: "パターン(確認)",
    clear: "クリア",
    save_pattern: "パターンを保存してログイン",
    mismatch: "2つのパターンが一致しません。同じパターンを2回入力してください。",
    same_as_initial: "初期パターンとは異なるパターンを選んでください。",
    rule_too_short: "パターンが短すぎます。",
    rule_too_long: "パターンが長すぎます。",
    rule_out_of_range: "表の外のマスが含まれています。",
    rule_single_stroke: "一筆書きできるパターンは使えません。離れたマスを含めてください。",
    rule_block_unused: "すべてのブロックから1つ以上のマスを使ってください。",
    rule_straight_line: "一直線のパターンは使えません。",
    rule_malformed: "パターンはマス番号をカンマで区切って入力してください。",
    home_title: "ログイン中",
    signed_in_as: "ログインユーザー",
    methods_used: "使用した認証方式",
    signed_in_at: "ログイン時刻(UTC)",
    sign_out: "ログアウト",
    error_title: "エラーが発生しました",
    error_forbidden: "フォームの有効期限が切れたか、このサイト以外から送信されました。ログイン画面に戻ってやり直してください。",
    error_internal: "リクエストを処理できませんでした。しばらくしてから再度お試しください。",
    back_to_sign_in: "ログイン画面に戻る",
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_picks_by_quality() {
        assert_eq!(Lang::from_accept_language("ja,en;q=0.8"), Lang::Ja);
        assert_eq!(Lang::from_accept_language("en-US,ja;q=0.5"), Lang::En);
        assert_eq!(Lang::from_accept_language("fr, ja-JP;q=0.3"), Lang::Ja);
        assert_eq!(Lang::from_accept_language("de"), Lang::En);
        assert_eq!(Lang::from_accept_language(""), Lang::En);
    }
}

//! Page texts in English and Japanese.
//!
//! Every language is one value of the same struct, so a missing translation does not compile.
//! The language comes from `?lang=`, then the `pl_lang` cookie, then `Accept-Language`.
//! The admin console's texts live in [`console`].

pub mod console;

/// A supported language.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    /// English (default).
    En,
    /// Japanese.
    Ja,
}

/// The display name of a method.
pub fn method_name(t: &Texts, m: passlogic_idp_core::pipeline::Method) -> &'static str {
    use passlogic_idp_core::pipeline::Method;
    match m {
        Method::Matrix => t.method_matrix,
        Method::Pin => t.method_pin,
        Method::Totp => t.method_totp,
        Method::Bingo => t.method_bingo,
        Method::HardwareToken => t.method_hardware_token,
        Method::Passkey => t.method_passkey,
        _ => t.method_other,
    }
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

    /// The admin console's texts of this language.
    pub fn console(self) -> &'static console::ConsoleTexts {
        match self {
            Lang::En => &console::EN,
            Lang::Ja => &console::JA,
        }
    }
}

/// Every string a page shows.
#[derive(Debug, serde::Serialize)]
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
    pub oidc_error_intro: &'static str,
    pub oidc_continue: &'static str,
    pub oidc_signed_out_title: &'static str,
    pub oidc_signed_out: &'static str,
    pub back_to_sign_in: &'static str,
    pub choose_title: &'static str,
    pub choose_help: &'static str,
    pub continue_label: &'static str,
    pub step_pin_title: &'static str,
    pub step_pin_help: &'static str,
    pub step_pin_code_help: &'static str,
    pub step_totp_title: &'static str,
    pub step_totp_help: &'static str,
    pub step_bingo_title: &'static str,
    pub step_bingo_help: &'static str,
    pub step_token_title: &'static str,
    pub step_token_help: &'static str,
    pub code_label: &'static str,
    pub code_failed: &'static str,
    pub enrol_app_title: &'static str,
    pub enrol_app_help: &'static str,
    pub enrol_bingo_help: &'static str,
    pub secret_label: &'static str,
    pub enrol_confirm: &'static str,
    pub enrol_pin_title: &'static str,
    pub enrol_pin_help: &'static str,
    pub pin_label: &'static str,
    pub pin_confirm_label: &'static str,
    pub save_pin: &'static str,
    pub pin_mismatch: &'static str,
    pub pin_rejected: &'static str,
    pub out_of_order: &'static str,
    pub continue_sign_in: &'static str,
    pub refused_no_combination: &'static str,
    pub refused_no_token: &'static str,
    pub method_matrix: &'static str,
    pub method_pin: &'static str,
    pub method_totp: &'static str,
    pub method_bingo: &'static str,
    pub method_hardware_token: &'static str,
    pub method_other: &'static str,
    pub attempt_ended: &'static str,
    pub change_pin_title: &'static str,
    pub current_pin_label: &'static str,
    pub pin_changed: &'static str,
    pub pin_current_wrong: &'static str,
    pub save: &'static str,
    pub new_pin_label: &'static str,
    pub back: &'static str,
    // -- the user portal and the first sign-in guides --
    pub portal_title: &'static str,
    pub menu_label: &'static str,
    pub menu_portal: &'static str,
    pub menu_services: &'static str,
    pub menu_security: &'static str,
    pub services_title: &'static str,
    pub services_help: &'static str,
    pub services_none: &'static str,
    pub security_title: &'static str,
    pub security_help: &'static str,
    pub status_set: &'static str,
    pub status_not_set: &'static str,
    pub sec_pattern: &'static str,
    pub sec_pattern_action: &'static str,
    pub sec_app: &'static str,
    pub sec_app_action: &'static str,
    pub sec_bingo: &'static str,
    pub sec_bingo_action: &'static str,
    pub sec_devices: &'static str,
    pub sec_devices_action: &'static str,
    pub sec_passkeys: &'static str,
    pub sec_passkeys_action: &'static str,
    pub sec_certs: &'static str,
    pub sec_certs_action: &'static str,
    pub fresh_title: &'static str,
    pub fresh_help: &'static str,
    pub sign_in_again: &'static str,
    pub pattern_change_title: &'static str,
    pub pattern_change_help: &'static str,
    pub save_new_pattern: &'static str,
    pub pattern_changed: &'static str,
    pub same_as_current: &'static str,
    pub app_title: &'static str,
    pub app_help: &'static str,
    pub app_done: &'static str,
    pub enrol_expired: &'static str,
    pub bingo_title: &'static str,
    pub bingo_help: &'static str,
    pub bingo_cells_label: &'static str,
    pub bingo_rule_count: &'static str,
    pub bingo_cells_wrong: &'static str,
    pub bingo_done: &'static str,
    pub open_authenticator: &'static str,
    pub guide_title: &'static str,
    pub guide_welcome: &'static str,
    pub guide_intro: &'static str,
    pub guide_step: &'static str,
    pub guide_start: &'static str,
    pub guide_others: &'static str,
    pub guide_not_found: &'static str,
    pub guide_not_found_title: &'static str,
    // Shared chrome (console and portal).
    pub skip_to_content: &'static str,
    // Client certificates (issue #8): the client_certificate step and its download page.
    pub cert_missing: &'static str,
    pub cert_untrusted: &'static str,
    pub cert_expired: &'static str,
    pub cert_revoked: &'static str,
    pub cert_other_user: &'static str,
    pub cert_issued_title: &'static str,
    pub cert_issued_intro: &'static str,
    pub cert_serial: &'static str,
    pub cert_password: &'static str,
    pub cert_password_once: &'static str,
    pub cert_download: &'static str,
    pub cert_step_install: &'static str,
    pub cert_step_again: &'static str,
    pub cert_download_gone: &'static str,
    // Passkeys (WebAuthn): the passkey step and /account/passkeys.
    pub passkey_step_title: &'static str,
    pub passkey_step_help: &'static str,
    pub passkey_use: &'static str,
    pub passkey_browser_failed: &'static str,
    pub passkey_no_js: &'static str,
    pub passkey_refused: &'static str,
    pub passkey_page_title: &'static str,
    pub passkey_page_intro: &'static str,
    pub passkey_none: &'static str,
    pub passkey_name: &'static str,
    pub passkey_registered: &'static str,
    pub passkey_last_used: &'static str,
    pub passkey_remove: &'static str,
    pub passkey_removed: &'static str,
    pub passkey_added: &'static str,
    pub passkey_register: &'static str,
    pub passkey_label: &'static str,
    pub passkey_register_failed: &'static str,
    pub passkey_synced: &'static str,
    pub passkey_unsupported: &'static str,
    pub method_passkey: &'static str,
    // The user's own client certificates (/account/certificates).
    pub certs_intro: &'static str,
    pub certs_none: &'static str,
    pub certs_valid_until: &'static str,
    pub certs_status: &'static str,
    pub certs_active: &'static str,
    pub certs_revoked: &'static str,
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
    oidc_error_intro: "The application's sign-in request was refused. Tell the application's administrator what is shown below.",
    oidc_continue: "Continue",
    oidc_signed_out_title: "Signed out",
    oidc_signed_out: "You are signed out.",
    back_to_sign_in: "Back to sign-in",
    choose_title: "Choose how to sign in",
    choose_help: "Your organisation allows several combinations. Choose one you have set up.",
    continue_label: "Continue",
    step_pin_title: "PIN",
    step_pin_help: "Enter your PIN.",
    step_pin_code_help: "Enter your PIN followed by the code shown by your token or app, in one field.",
    step_totp_title: "Authenticator app",
    step_totp_help: "Enter the code your authenticator app shows now.",
    step_bingo_title: "Bingo display",
    step_bingo_help: "Open the bingo display of your authenticator and type the digits in your bingo cells, in your order.",
    step_token_title: "Hardware token",
    step_token_help: "Press the button on your token and enter the code it shows.",
    code_label: "Code",
    code_failed: "The code was not accepted. Try again with a new code. After repeated failures the account is locked.",
    enrol_app_title: "Set up your authenticator app",
    enrol_app_help: "Scan the QR code with any authenticator app (or type the key), then enter the code it shows to confirm.",
    enrol_bingo_help: "In the reference authenticator, also choose your bingo cells: the code's digits will hide in those cells of a 5x5 grid.",
    secret_label: "Key",
    enrol_confirm: "Confirm and continue",
    enrol_pin_title: "Set your PIN",
    enrol_pin_help: "Choose a PIN. You will enter it at every sign-in.",
    pin_label: "PIN",
    pin_confirm_label: "PIN again",
    save_pin: "Save PIN and continue",
    pin_mismatch: "The two PINs differ.",
    pin_rejected: "This PIN does not meet the policy",
    out_of_order: "That step is not due yet. Continue your sign-in from where you are.",
    continue_sign_in: "Continue sign-in",
    refused_no_combination: "Your account has no sign-in method that your organisation's policy allows. Contact your administrator.",
    refused_no_token: "A hardware token is required but none is assigned to your account. Contact your administrator.",
    method_matrix: "Matrix pattern",
    method_pin: "PIN",
    method_totp: "Authenticator app",
    method_bingo: "Bingo display",
    method_hardware_token: "Hardware token",
    method_other: "Other method",
    attempt_ended: "This sign-in has ended or expired. Start again.",
    change_pin_title: "Change PIN",
    current_pin_label: "Current PIN",
    pin_changed: "Your PIN was changed.",
    pin_current_wrong: "The current PIN is not correct. After repeated failures the account is locked.",
    save: "Save",
    new_pin_label: "New PIN",
    back: "Back",
    // -- the user portal and the first sign-in guides --
    portal_title: "Portal",
    menu_label: "Main menu",
    menu_portal: "Portal",
    menu_services: "Services",
    menu_security: "Security settings",
    services_title: "Your services",
    services_help: "Click a service to sign in to it. You are already signed in here, so it opens without another sign-in.",
    services_none: "No services are available to you yet. Ask your administrator.",
    security_title: "Security settings",
    security_help: "Change how you sign in. Changes to the pattern and the authenticator app need a sign-in within the last 10 minutes.",
    status_set: "Set up",
    status_not_set: "Not set up",
    sec_pattern: "Sign-in pattern",
    sec_pattern_action: "Change pattern",
    sec_app: "Authenticator app",
    sec_app_action: "Set up or replace",
    sec_bingo: "Bingo display",
    sec_bingo_action: "Set bingo pattern",
    sec_devices: "Registered devices",
    sec_devices_action: "Manage devices",
    sec_passkeys: "Passkeys",
    sec_passkeys_action: "Manage passkeys",
    sec_certs: "Client certificates",
    sec_certs_action: "View certificates",
    fresh_title: "Confirm it is you",
    fresh_help: "This change needs a recent sign-in: your last sign-in was more than 10 minutes ago. Sign in again, then come back here.",
    sign_in_again: "Sign in again",
    pattern_change_title: "Change your pattern",
    pattern_change_help: "Click the cells of your new pattern in the order you will remember (or type the cell numbers). From your next sign-in you type the digits shown in these cells.",
    save_new_pattern: "Save pattern",
    pattern_changed: "Your pattern was changed. Use it from your next sign-in.",
    same_as_current: "Choose a pattern that differs from your current pattern.",
    app_title: "Set up your authenticator app",
    app_help: "Scan the QR code with any authenticator app (or type the key), then enter the code it shows. This replaces an app set up before.",
    app_done: "Your authenticator app is set up. Use its codes from your next sign-in.",
    enrol_expired: "The setup took too long and a new key was made. Scan the new QR code and try again.",
    bingo_title: "Set your bingo pattern",
    bingo_help: "Click the cells where the code's digits will hide in the 5x5 bingo grid of the reference authenticator, one cell per digit, in order. Then add the key to the authenticator with these cells and enter the code you read in your cells.",
    bingo_cells_label: "Bingo cells (in order)",
    bingo_rule_count: "Choose as many different cells as your codes have digits:",
    bingo_cells_wrong: "Choose different cells, one per code digit, from 0 to 24.",
    bingo_done: "Your bingo display is set up. From your next sign-in, read the code in your cells.",
    open_authenticator: "Open the reference authenticator with this key",
    guide_title: "First sign-in guide",
    guide_welcome: "Welcome",
    guide_intro: "This guide shows, step by step, what you will see when you sign in for the first time.",
    guide_step: "Step",
    guide_start: "Go to the sign-in page",
    guide_others: "Guides for other methods",
    guide_not_found: "There is no guide for this method. Choose one of the guides below.",
    guide_not_found_title: "Guide not found",
    skip_to_content: "Skip to content",
    // Client certificates (issue #8): the client_certificate step and its download page.
    cert_missing: "No client certificate was presented. Sign in from a device where your \
              certificate is installed, and choose it when the browser asks.",
    cert_untrusted: "The client certificate was not issued by this service (or is not for signing \
                in). Use the certificate your administrator gave you.",
    cert_expired: "Your client certificate has expired (or is not valid yet). Ask your administrator \
              for a new one.",
    cert_revoked: "Your client certificate has been revoked. Ask your administrator for a new one.",
    cert_other_user: "This client certificate belongs to another user. Sign in with your own \
                 certificate.",
    cert_issued_title: "Your client certificate",
    cert_issued_intro: "This account signs in with a client certificate, and one has just been \
                   issued for you. Download it and install it on this device.",
    cert_serial: "Serial number",
    cert_password: "Password of the file",
    cert_password_once: "Write the password down now: it is shown only this once, and the download \
                    works once within 10 minutes.",
    cert_download: "Download the certificate (.p12)",
    cert_step_install: "Open the downloaded file and install it (Windows: Certificate Import Wizard; \
                   macOS: Keychain; Firefox: Settings, View Certificates, Import), typing the \
                   password above.",
    cert_step_again: "Sign in again and choose the certificate when the browser asks.",
    cert_download_gone: "This download link was used before, has expired, or is unknown. Ask your \
                    administrator for a certificate.",
    // Passkeys (WebAuthn): the passkey step and /account/passkeys.
    passkey_step_title: "Sign in with a passkey",
    passkey_step_help: "Use your passkey: your device asks for your face, fingerprint or screen lock.",
    passkey_use: "Use passkey",
    passkey_browser_failed: "The passkey was not used (cancelled, timed out, or not available on this device). Try again.",
    passkey_no_js: "Passkeys need JavaScript in this browser.",
    passkey_refused: "The passkey was not accepted. Sign in again.",
    passkey_page_title: "Passkeys",
    passkey_page_intro: "Passkeys let you sign in with your device's face, fingerprint or screen lock.",
    passkey_none: "No passkey is registered yet.",
    passkey_name: "Name",
    passkey_registered: "Registered",
    passkey_last_used: "Last used",
    passkey_remove: "Remove",
    passkey_removed: "The passkey was removed.",
    passkey_added: "The passkey was registered.",
    passkey_register: "Register a passkey",
    passkey_label: "Name for this passkey",
    passkey_register_failed: "The passkey could not be registered. Try again.",
    passkey_synced: "synced",
    passkey_unsupported: "This browser does not support passkeys.",
    method_passkey: "Passkey",
    certs_intro: "Client certificates issued to you by this organisation's certificate authority. To get a new one or to revoke a lost one, ask your administrator.",
    certs_none: "No client certificate has been issued to you.",
    certs_valid_until: "Valid until",
    certs_status: "Status",
    certs_active: "Active",
    certs_revoked: "Revoked",
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
    oidc_error_intro: "アプリケーションからのログイン要求を受け付けられませんでした。以下の内容をアプリケーションの管理者にお伝えください。",
    oidc_continue: "続行",
    oidc_signed_out_title: "ログアウトしました",
    oidc_signed_out: "ログアウトしました。",
    back_to_sign_in: "ログイン画面に戻る",
    choose_title: "ログイン方法の選択",
    choose_help: "組織で許可されている組み合わせから、設定済みのものを選んでください。",
    continue_label: "次へ",
    step_pin_title: "PIN",
    step_pin_help: "PINを入力してください。",
    step_pin_code_help: "PINに続けて、トークンまたはアプリに表示されたコードを1つの欄に入力してください。",
    step_totp_title: "認証アプリ",
    step_totp_help: "認証アプリに表示されているコードを入力してください。",
    step_bingo_title: "ビンゴ表示",
    step_bingo_help: "認証アプリのビンゴ表示を開き、あなたのビンゴのマスの数字を順番どおりに入力してください。",
    step_token_title: "ハードウェアトークン",
    step_token_help: "トークンのボタンを押し、表示されたコードを入力してください。",
    code_label: "コード",
    code_failed: "コードが正しくありません。新しいコードで再度お試しください。失敗が続くとアカウントはロックされます。",
    enrol_app_title: "認証アプリの設定",
    enrol_app_help: "任意の認証アプリでQRコードを読み取る(またはキーを入力する)と表示されるコードを入力して確認してください。",
    enrol_bingo_help: "リファレンス認証アプリでビンゴのマスも設定してください。コードの数字は5x5の表のそのマスに隠れて表示されます。",
    secret_label: "キー",
    enrol_confirm: "確認して次へ",
    enrol_pin_title: "PINの設定",
    enrol_pin_help: "PINを決めてください。ログインのたびに入力します。",
    pin_label: "PIN",
    pin_confirm_label: "PIN(確認)",
    save_pin: "PINを保存して次へ",
    pin_mismatch: "2つのPINが一致しません。",
    pin_rejected: "このPINはポリシーを満たしていません",
    out_of_order: "その手順はまだ実行できません。現在の手順からログインを続けてください。",
    continue_sign_in: "ログインを続ける",
    refused_no_combination: "組織のポリシーで許可されたログイン方法がアカウントに設定されていません。管理者に連絡してください。",
    refused_no_token: "ハードウェアトークンが必要ですが、アカウントに割り当てられていません。管理者に連絡してください。",
    method_matrix: "マトリクス認証",
    method_pin: "PIN",
    method_totp: "認証アプリ",
    method_bingo: "ビンゴ表示",
    method_hardware_token: "ハードウェアトークン",
    method_other: "その他の方式",
    attempt_ended: "このログイン手続きは終了したか、有効期限が切れました。最初からやり直してください。",
    change_pin_title: "PINの変更",
    current_pin_label: "現在のPIN",
    pin_changed: "PINを変更しました。",
    pin_current_wrong: "現在のPINが正しくありません。失敗が続くとアカウントはロックされます。",
    save: "保存",
    new_pin_label: "新しいPIN",
    back: "戻る",
    // -- the user portal and the first sign-in guides --
    portal_title: "ポータル",
    menu_label: "メインメニュー",
    menu_portal: "ポータル",
    menu_services: "サービス",
    menu_security: "セキュリティ設定",
    services_title: "利用できるサービス",
    services_help: "サービスをクリックするとログインします。ここでログイン済みのため、再度のログインなしで開きます。",
    services_none: "利用できるサービスはまだありません。管理者にお問い合わせください。",
    security_title: "セキュリティ設定",
    security_help: "ログイン方法を変更できます。パターンと認証アプリの変更には、10分以内のログインが必要です。",
    status_set: "設定済み",
    status_not_set: "未設定",
    sec_pattern: "マトリクスのパターン",
    sec_pattern_action: "パターンを変更",
    sec_app: "認証アプリ",
    sec_app_action: "設定・再設定",
    sec_bingo: "ビンゴ表示",
    sec_bingo_action: "ビンゴのパターンを設定",
    sec_devices: "登録済みの端末",
    sec_devices_action: "端末を管理",
    sec_passkeys: "パスキー",
    sec_passkeys_action: "パスキーを管理",
    sec_certs: "クライアント証明書",
    sec_certs_action: "証明書を確認",
    fresh_title: "本人確認",
    fresh_help: "この変更には直近のログインが必要です(前回のログインから10分以上経過しています)。もう一度ログインしてから、この画面に戻ってください。",
    sign_in_again: "もう一度ログイン",
    pattern_change_title: "パターンの変更",
    pattern_change_help: "新しいパターンのマスを、覚えやすい順番でクリックしてください(マス番号の入力もできます)。次回のログインから、これらのマスに表示される数字を入力します。",
    save_new_pattern: "パターンを保存",
    pattern_changed: "パターンを変更しました。次回のログインから新しいパターンを使ってください。",
    same_as_current: "現在のパターンとは異なるパターンを選んでください。",
    app_title: "認証アプリの設定",
    app_help: "任意の認証アプリでQRコードを読み取り(またはキーを入力し)、表示されたコードを入力してください。以前に設定したアプリは置き換えられます。",
    app_done: "認証アプリを設定しました。次回のログインからこのコードを使ってください。",
    enrol_expired: "設定に時間がかかったため、新しいキーを作成しました。新しいQRコードを読み取って、もう一度お試しください。",
    bingo_title: "ビンゴのパターンの設定",
    bingo_help: "リファレンス認証アプリの5x5のビンゴ表に、コードの数字を隠すマスを、数字1つにつき1マスずつ順番にクリックしてください。次に、このキーとマスを認証アプリに設定し、あなたのマスから読み取ったコードを入力してください。",
    bingo_cells_label: "ビンゴのマス(順番)",
    bingo_rule_count: "コードの桁数と同じ数の、異なるマスを選んでください:",
    bingo_cells_wrong: "0〜24の異なるマスを、コードの1桁につき1つずつ選んでください。",
    bingo_done: "ビンゴ表示を設定しました。次回のログインから、あなたのマスのコードを読み取って入力してください。",
    open_authenticator: "このキーでリファレンス認証アプリを開く",
    guide_title: "初回ログインガイド",
    guide_welcome: "ようこそ",
    guide_intro: "初めてログインするときに表示される画面を、手順ごとに説明します。",
    guide_step: "手順",
    guide_start: "ログイン画面へ",
    guide_others: "ほかの方式のガイド",
    guide_not_found: "この方式のガイドはありません。以下のガイドから選んでください。",
    guide_not_found_title: "ガイドが見つかりません",
    skip_to_content: "本文へ移動",
    // Client certificates (issue #8): the client_certificate step and its download page.
    cert_missing: "クライアント証明書が提示されませんでした。証明書をインストールした端末からサインインし、\
              ブラウザーが尋ねたら証明書を選んでください。",
    cert_untrusted: "このクライアント証明書は本サービスが発行したもの (またはサインイン用) ではありません。\
                管理者から受け取った証明書を使ってください。",
    cert_expired: "クライアント証明書の有効期限が切れています (またはまだ有効ではありません)。\
              管理者に新しい証明書を依頼してください。",
    cert_revoked: "クライアント証明書は失効しています。管理者に新しい証明書を依頼してください。",
    cert_other_user: "このクライアント証明書は別のユーザーのものです。ご自分の証明書でサインインしてください。",
    cert_issued_title: "クライアント証明書",
    cert_issued_intro: "このアカウントはクライアント証明書でサインインします。証明書を発行しました。\
                   ダウンロードしてこの端末にインストールしてください。",
    cert_serial: "シリアル番号",
    cert_password: "ファイルのパスワード",
    cert_password_once: "パスワードを今すぐ控えてください。表示は一度だけで、ダウンロードは 10 分以内に一度だけ可能です。",
    cert_download: "証明書 (.p12) をダウンロード",
    cert_step_install: "ダウンロードしたファイルを開いてインストールし (Windows: 証明書のインポート ウィザード、\
                   macOS: キーチェーン、Firefox: 設定 → 証明書を表示 → インポート)、上記のパスワードを入力します。",
    cert_step_again: "もう一度サインインし、ブラウザーが尋ねたら証明書を選びます。",
    cert_download_gone: "このダウンロード リンクは使用済み、期限切れ、または不明です。管理者に証明書を依頼してください。",
    // Passkeys (WebAuthn): the passkey step and /account/passkeys.
    passkey_step_title: "パスキーでサインイン",
    passkey_step_help: "パスキーを使用します。端末が顔認証、指紋認証または画面ロックを求めます。",
    passkey_use: "パスキーを使用",
    passkey_browser_failed: "パスキーが使用されませんでした（キャンセル、タイムアウト、またはこの端末では利用できません）。もう一度お試しください。",
    passkey_no_js: "パスキーの利用には、このブラウザーでJavaScriptが必要です。",
    passkey_refused: "パスキーを受け付けられませんでした。もう一度サインインしてください。",
    passkey_page_title: "パスキー",
    passkey_page_intro: "パスキーを使うと、端末の顔認証、指紋認証または画面ロックでサインインできます。",
    passkey_none: "登録済みのパスキーはまだありません。",
    passkey_name: "名前",
    passkey_registered: "登録日時",
    passkey_last_used: "最終利用",
    passkey_remove: "削除",
    passkey_removed: "パスキーを削除しました。",
    passkey_added: "パスキーを登録しました。",
    passkey_register: "パスキーを登録",
    passkey_label: "このパスキーの名前",
    passkey_register_failed: "パスキーを登録できませんでした。もう一度お試しください。",
    passkey_synced: "同期",
    passkey_unsupported: "このブラウザーはパスキーに対応していません。",
    method_passkey: "パスキー",
    certs_intro: "この組織の認証局があなたに発行したクライアント証明書です。新しい証明書の発行や紛失した証明書の失効は管理者に依頼してください。",
    certs_none: "あなたに発行されたクライアント証明書はありません。",
    certs_valid_until: "有効期限",
    certs_status: "状態",
    certs_active: "有効",
    certs_revoked: "失効",
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

/// Every catalogue has the same keys in both languages and no translation left empty or copied
/// from English (words that are the same in both, such as "PIN" or "TOTP", are listed).
#[cfg(test)]
mod catalogue_tests {
    use serde_json::{Map, Value};

    /// Japanese values that may equal the English ones: product names, protocol acronyms,
    /// codes and symbols.
    const SAME_IN_BOTH: &[&str] = &[
        "PassLogic IdP",
        "PIN",
        "TOTP",
        "SAML",
        "OIDC",
        "OpenID Connect",
        "CSV",
        "LDAP",
        "SCIM",
        "RADIUS",
        "ID",
        "URL",
        "OK",
        "JSON",
        "PKCS#12",
        "Entra ID",
        "QR",
    ];

    fn entries<T: serde::Serialize>(t: &T) -> Map<String, Value> {
        match serde_json::to_value(t).expect("serialisable") {
            Value::Object(m) => m,
            _ => panic!("a catalogue is a struct"),
        }
    }

    fn check<T: serde::Serialize>(name: &str, en: &T, ja: &T) {
        let (en, ja) = (entries(en), entries(ja));
        let en_keys: Vec<&String> = en.keys().collect();
        let ja_keys: Vec<&String> = ja.keys().collect();
        assert_eq!(
            en_keys, ja_keys,
            "{name}: the catalogues have different keys"
        );
        for (key, e) in &en {
            let (e, j) = (e.as_str().unwrap_or(""), ja[key].as_str().unwrap_or(""));
            assert!(!e.trim().is_empty(), "{name}.{key}: empty English text");
            assert!(!j.trim().is_empty(), "{name}.{key}: empty Japanese text");
            // A value is "translated" when it differs, unless it is a shared word, a language
            // code/name or made only of ASCII symbols and digits.
            let shared = SAME_IN_BOTH.contains(&e) || !e.chars().any(|c| c.is_ascii_alphabetic());
            assert!(
                e != j || shared || key.contains("lang"),
                "{name}.{key}: the Japanese text is a copy of the English one ({e:?})"
            );
        }
    }

    #[test]
    fn page_catalogues_match() {
        check("Texts", &super::EN, &super::JA);
    }

    #[test]
    fn console_catalogues_match() {
        check("ConsoleTexts", &super::console::EN, &super::console::JA);
    }
}

//! First sign-in guides (docs/portal.md): one public page per authentication method at
//! `GET /guide/{method}` on the user listener, in English and Japanese, that shows step by step
//! what the user will see at the first sign-in with that method, with an illustration per step.
//!
//! The admin console builds the link for a welcome e-mail with [`guide_url`]:
//!
//! ```
//! use passlogic_idp_server::guides::{guide_url, GuideMethod};
//! use passlogic_idp_server::i18n::Lang;
//! let url = guide_url("https://idp.example.com/", GuideMethod::Matrix, Lang::Ja, Some("山田 太郎"));
//! assert_eq!(
//!     url,
//!     "https://idp.example.com/guide/matrix?lang=ja&user=%E5%B1%B1%E7%94%B0%20%E5%A4%AA%E9%83%8E"
//! );
//! ```
//!
//! The step texts live here rather than in `i18n::Texts` because they are long and belong to
//! one page; each is a [`Bi`] (English and Japanese side by side), so a missing translation
//! does not compile either.

use crate::i18n::Lang;
use crate::percent::encode;

/// A method with a guide (every method of the product).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GuideMethod {
    /// Matrix (grid) one-time password.
    Matrix,
    /// PIN code.
    Pin,
    /// Authenticator app (TOTP).
    Totp,
    /// Bingo display.
    Bingo,
    /// Hardware token.
    HardwareToken,
    /// Client certificate.
    ClientCertificate,
    /// Device cookie.
    DeviceCookie,
    /// Login protect.
    LoginProtect,
    /// Passkey (WebAuthn).
    Passkey,
    /// Face / external biometric verification.
    Biometric,
}

impl GuideMethod {
    /// Every method, in the order the guides list them.
    pub const ALL: [GuideMethod; 10] = [
        GuideMethod::Matrix,
        GuideMethod::Pin,
        GuideMethod::Totp,
        GuideMethod::Bingo,
        GuideMethod::HardwareToken,
        GuideMethod::ClientCertificate,
        GuideMethod::DeviceCookie,
        GuideMethod::LoginProtect,
        GuideMethod::Passkey,
        GuideMethod::Biometric,
    ];

    /// The path segment (`/guide/{as_str}`), the same names as the sign-in steps.
    pub fn as_str(self) -> &'static str {
        match self {
            GuideMethod::Matrix => "matrix",
            GuideMethod::Pin => "pin",
            GuideMethod::Totp => "totp",
            GuideMethod::Bingo => "bingo",
            GuideMethod::HardwareToken => "hardware_token",
            GuideMethod::ClientCertificate => "client_certificate",
            GuideMethod::DeviceCookie => "device_cookie",
            GuideMethod::LoginProtect => "login_protect",
            GuideMethod::Passkey => "passkey",
            GuideMethod::Biometric => "biometric",
        }
    }

    /// Parses a path segment.
    pub fn parse(s: &str) -> Option<GuideMethod> {
        GuideMethod::ALL.into_iter().find(|m| m.as_str() == s)
    }

    /// The guide's content.
    pub fn guide(self) -> &'static Guide {
        match self {
            GuideMethod::Matrix => &MATRIX,
            GuideMethod::Pin => &PIN,
            GuideMethod::Totp => &TOTP,
            GuideMethod::Bingo => &BINGO,
            GuideMethod::HardwareToken => &HARDWARE_TOKEN,
            GuideMethod::ClientCertificate => &CLIENT_CERTIFICATE,
            GuideMethod::DeviceCookie => &DEVICE_COOKIE,
            GuideMethod::LoginProtect => &LOGIN_PROTECT,
            GuideMethod::Passkey => &PASSKEY,
            GuideMethod::Biometric => &BIOMETRIC,
        }
    }
}

/// The absolute URL of a guide page, for a welcome e-mail: `public_url` is the user
/// listener's public URL (`serve --public-url`, a trailing `/` is fine), `user` an optional
/// name the page greets (shown escaped; at most [`MAX_USER`] characters are kept).
pub fn guide_url(public_url: &str, method: GuideMethod, lang: Lang, user: Option<&str>) -> String {
    let mut url = format!(
        "{}/guide/{}?lang={}",
        public_url.trim_end_matches('/'),
        method.as_str(),
        lang.tag()
    );
    if let Some(u) = user.map(clean_user).filter(|u| !u.is_empty()) {
        url.push_str("&user=");
        url.push_str(&encode(&u));
    }
    url
}

/// Longest greeting name kept, in characters.
pub const MAX_USER: usize = 64;

/// The greeting name as shown: control characters dropped, trimmed, at most [`MAX_USER`]
/// characters (HTML escaping is the template's job).
pub fn clean_user(user: &str) -> String {
    user.chars()
        .filter(|c| !c.is_control())
        .take(MAX_USER)
        .collect::<String>()
        .trim()
        .to_owned()
}

/// A text in both languages.
#[derive(Debug)]
pub struct Bi {
    /// English.
    pub en: &'static str,
    /// Japanese.
    pub ja: &'static str,
}

impl Bi {
    /// The text in `lang`.
    pub fn get(&self, lang: Lang) -> &'static str {
        match lang {
            Lang::En => self.en,
            Lang::Ja => self.ja,
        }
    }
}

/// One step of a guide.
#[derive(Debug)]
pub struct Step {
    /// What the user does.
    pub title: Bi,
    /// What the user sees and what to do.
    pub text: Bi,
    /// The illustration: a file under `static/guide/` (served at `/static/guide/...`).
    pub picture: &'static str,
    /// The illustration's alternative text.
    pub alt: Bi,
}

/// A guide.
#[derive(Debug)]
pub struct Guide {
    /// The method's name.
    pub name: Bi,
    /// One sentence: what the method is.
    pub summary: Bi,
    /// The steps.
    pub steps: &'static [Step],
}

/// The illustrations, compiled in: (file name, SVG). Made by scripts/guide-pictures.py.
pub const PICTURES: &[(&str, &[u8])] = &[
    ("signin.svg", include_bytes!("../static/guide/signin.svg")),
    ("notice.svg", include_bytes!("../static/guide/notice.svg")),
    ("grid.svg", include_bytes!("../static/guide/grid.svg")),
    ("picker.svg", include_bytes!("../static/guide/picker.svg")),
    ("portal.svg", include_bytes!("../static/guide/portal.svg")),
    ("pin.svg", include_bytes!("../static/guide/pin.svg")),
    ("app.svg", include_bytes!("../static/guide/app.svg")),
    ("qr.svg", include_bytes!("../static/guide/qr.svg")),
    ("code.svg", include_bytes!("../static/guide/code.svg")),
    ("bingo.svg", include_bytes!("../static/guide/bingo.svg")),
    ("token.svg", include_bytes!("../static/guide/token.svg")),
    ("cert.svg", include_bytes!("../static/guide/cert.svg")),
    (
        "cert-choose.svg",
        include_bytes!("../static/guide/cert-choose.svg"),
    ),
    ("device.svg", include_bytes!("../static/guide/device.svg")),
    ("unlock.svg", include_bytes!("../static/guide/unlock.svg")),
    ("passkey.svg", include_bytes!("../static/guide/passkey.svg")),
    ("face.svg", include_bytes!("../static/guide/face.svg")),
];

/// A compiled-in illustration by file name.
pub fn picture(name: &str) -> Option<&'static [u8]> {
    PICTURES.iter().find(|(n, _)| *n == name).map(|(_, b)| *b)
}

const SIGN_IN: Step = Step {
    title: Bi {
        en: "Open the sign-in page and enter your user ID",
        ja: "ログイン画面を開き、ユーザーIDを入力する",
    },
    text: Bi {
        en: "Open the sign-in link from your welcome e-mail. Type the user ID your administrator gave you and press Next.",
        ja: "案内メールのログイン用リンクを開きます。管理者から通知されたユーザーIDを入力し、「次へ」を押します。",
    },
    picture: "signin.svg",
    alt: Bi {
        en: "The sign-in page: a User ID field and a Next button.",
        ja: "ログイン画面:ユーザーIDの入力欄と「次へ」ボタン。",
    },
};

const FIRST_STEP: Step = Step {
    title: Bi {
        en: "Pass the first step",
        ja: "最初の認証を行う",
    },
    text: Bi {
        en: "Sign in with your user ID and the first method your organisation set (often the matrix pattern: type the digits in your pattern's cells).",
        ja: "ユーザーIDと、組織で設定された最初の方式(多くはマトリクス認証:パターンのマスの数字を入力)でログインします。",
    },
    picture: "grid.svg",
    alt: Bi {
        en: "A grid of random digits; the cells of the pattern are highlighted in order.",
        ja: "ランダムな数字の表。パターンのマスが順番に強調されています。",
    },
};

static MATRIX: Guide = Guide {
    name: Bi { en: "Matrix pattern", ja: "マトリクス認証" },
    summary: Bi {
        en: "You remember a pattern of cells, not a password. At each sign-in a new grid of random digits appears, and the digits in your cells form a one-time password.",
        ja: "パスワードではなく、マスの並び(パターン)を覚えます。ログインのたびに新しい乱数表が表示され、あなたのマスの数字がワンタイムパスワードになります。",
    },
    steps: &[
        SIGN_IN,
        Step {
            title: Bi { en: "Read your initial pattern", ja: "初期パターンを確認する" },
            text: Bi {
                en: "Your administrator sent you an initial pattern such as \"*8** 2*** ***5\". Each digit marks a cell, and the digits give the order. You use it once.",
                ja: "管理者から「*8** 2*** ***5」のような初期パターンが届きます。数字の位置がマスを、数字の値が順番を表します。一度だけ使います。",
            },
            picture: "notice.svg",
            alt: Bi {
                en: "A notice with rows of stars and digits: the digits mark the cells of the initial pattern.",
                ja: "星印と数字が並んだ通知:数字が初期パターンのマスを示します。",
            },
        },
        Step {
            title: Bi { en: "Type the digits in your cells", ja: "マスの数字を入力する" },
            text: Bi {
                en: "A grid of random digits appears. Find your cells and type their digits in your pattern's order on the keyboard. The digits cannot be clicked, and the grid changes every time.",
                ja: "ランダムな数字の表が表示されます。あなたのマスを探し、その数字をパターンの順番どおりにキーボードで入力します。数字はクリックできず、表は毎回変わります。",
            },
            picture: "grid.svg",
            alt: Bi {
                en: "A grid of 4 rows and 12 columns of digits in three blocks; the pattern's cells are highlighted and numbered.",
                ja: "3つのブロックに分かれた4行12列の数字の表。パターンのマスが番号付きで強調されています。",
            },
        },
        Step {
            title: Bi { en: "Choose your own pattern", ja: "自分のパターンを決める" },
            text: Bi {
                en: "Click the cells of your new pattern in the order you will remember, check the rules on the page, and save. A cell may be used more than once.",
                ja: "覚えやすい順番で新しいパターンのマスをクリックし、画面のルールを確認して保存します。同じマスを複数回使えます。",
            },
            picture: "picker.svg",
            alt: Bi {
                en: "The pattern picker: empty cells, some numbered 1 to 6 in the order they were clicked.",
                ja: "パターンの設定画面:クリックした順に1〜6の番号が付いたマス。",
            },
        },
        Step {
            title: Bi { en: "Use your services", ja: "サービスを利用する" },
            text: Bi {
                en: "You are signed in. The portal shows your services; click one to open it. You can change your pattern later under Security settings.",
                ja: "ログインできました。ポータルに利用できるサービスが表示されます。クリックすると開きます。パターンはあとから「セキュリティ設定」で変更できます。",
            },
            picture: "portal.svg",
            alt: Bi {
                en: "The portal: coloured tiles with the first letter of each service.",
                ja: "ポータル:各サービスの頭文字が入った色付きのタイル。",
            },
        },
    ],
};

static PIN: Guide = Guide {
    name: Bi { en: "PIN", ja: "PIN" },
    summary: Bi {
        en: "A PIN you choose, entered together with another method (for example an authenticator app or a token).",
        ja: "ご自身で決めるPINです。ほかの方式(認証アプリやトークンなど)と組み合わせて入力します。",
    },
    steps: &[
        SIGN_IN,
        FIRST_STEP,
        Step {
            title: Bi { en: "Choose your PIN", ja: "PINを決める" },
            text: Bi {
                en: "At your first sign-in you are asked to choose a PIN. Type it twice and save. The page says how long it must be.",
                ja: "初回ログイン時にPINの設定を求められます。2回入力して保存します。必要な桁数は画面に表示されます。",
            },
            picture: "pin.svg",
            alt: Bi {
                en: "A PIN form with two hidden fields, PIN and PIN again.",
                ja: "PINとPIN(確認)の2つの入力欄があるフォーム。",
            },
        },
        Step {
            title: Bi { en: "Enter your PIN at each sign-in", ja: "ログインのたびにPINを入力する" },
            text: Bi {
                en: "From then on, enter your PIN when asked. If your organisation combines it with a code, type the PIN followed by the code in one field. Change it on the portal under Security settings.",
                ja: "以後はログイン時にPINを入力します。コードと組み合わせる設定の場合は、PINに続けてコードを1つの欄に入力します。PINはポータルの「セキュリティ設定」で変更できます。",
            },
            picture: "pin.svg",
            alt: Bi {
                en: "The PIN field at sign-in.",
                ja: "ログイン時のPIN入力欄。",
            },
        },
    ],
};

static TOTP: Guide = Guide {
    name: Bi { en: "Authenticator app", ja: "認証アプリ(ソフトウェアトークン)" },
    summary: Bi {
        en: "An app on your phone shows a new 6-digit code every 30 seconds. It works offline; any standard authenticator app works.",
        ja: "スマートフォンのアプリに30秒ごとに新しい6桁のコードが表示されます。オフラインで動作し、一般的な認証アプリを使えます。",
    },
    steps: &[
        Step {
            title: Bi { en: "Install an authenticator app", ja: "認証アプリをインストールする" },
            text: Bi {
                en: "Install any authenticator app on your phone (for example Google Authenticator, Microsoft Authenticator or FreeOTP).",
                ja: "スマートフォンに認証アプリ(Google Authenticator、Microsoft Authenticator、FreeOTPなど)をインストールします。",
            },
            picture: "app.svg",
            alt: Bi {
                en: "A phone with an authenticator app showing a 6-digit code.",
                ja: "6桁のコードを表示した認証アプリのスマートフォン。",
            },
        },
        SIGN_IN,
        Step {
            title: Bi { en: "Scan the QR code", ja: "QRコードを読み取る" },
            text: Bi {
                en: "The sign-in shows a QR code. In the app, add an account and scan it (or type the key shown below it).",
                ja: "ログインの途中でQRコードが表示されます。アプリでアカウントを追加して読み取ります(下に表示されたキーを入力することもできます)。",
            },
            picture: "qr.svg",
            alt: Bi {
                en: "A QR code on the screen and a phone camera scanning it.",
                ja: "画面のQRコードをスマートフォンのカメラで読み取る様子。",
            },
        },
        Step {
            title: Bi { en: "Confirm with a code", ja: "コードで確認する" },
            text: Bi {
                en: "Type the code the app shows now and press Confirm. From then on, type the app's current code at each sign-in.",
                ja: "アプリに表示されているコードを入力して「確認」を押します。以後はログインのたびにアプリの現在のコードを入力します。",
            },
            picture: "code.svg",
            alt: Bi {
                en: "The code from the phone typed into the Code field.",
                ja: "スマートフォンのコードを「コード」欄に入力する様子。",
            },
        },
    ],
};

static BINGO: Guide = Guide {
    name: Bi { en: "Bingo display", ja: "ビンゴ表示" },
    summary: Bi {
        en: "The reference authenticator hides your code in a 5x5 grid of random digits, at cells only you know, so a watched or stolen phone reveals nothing.",
        ja: "リファレンス認証アプリが、あなただけが知るマスにコードを隠した5x5の乱数表を表示します。のぞき見られても、盗まれても、コードは分かりません。",
    },
    steps: &[
        SIGN_IN,
        Step {
            title: Bi { en: "Add the key to the reference authenticator", ja: "リファレンス認証アプリにキーを登録する" },
            text: Bi {
                en: "The sign-in shows a QR code and a key. Open the reference authenticator (the /authenticator page of this site) on your phone and enter the key.",
                ja: "ログインの途中でQRコードとキーが表示されます。スマートフォンでリファレンス認証アプリ(このサイトの /authenticator)を開き、キーを入力します。",
            },
            picture: "qr.svg",
            alt: Bi {
                en: "A QR code and its key on the screen, next to a phone.",
                ja: "画面のQRコードとキー、スマートフォン。",
            },
        },
        Step {
            title: Bi { en: "Choose your bingo cells", ja: "ビンゴのマスを決める" },
            text: Bi {
                en: "Choose six different cells of the 5x5 grid, in an order you will remember. The app writes the code's digits into those cells and fills the rest with random digits.",
                ja: "5x5の表から異なる6つのマスを、覚えやすい順番で選びます。アプリはコードの数字をそのマスに書き込み、ほかのマスを乱数で埋めます。",
            },
            picture: "bingo.svg",
            alt: Bi {
                en: "A 5x5 grid of digits on a phone; six cells are highlighted and numbered 1 to 6.",
                ja: "スマートフォンの5x5の数字の表。6つのマスに1〜6の番号が付いています。",
            },
        },
        Step {
            title: Bi { en: "Read and type the code", ja: "コードを読み取って入力する" },
            text: Bi {
                en: "Read the digits in your cells, in your order, and type them as the code. Do the same at every sign-in.",
                ja: "あなたのマスの数字を順番どおりに読み取り、コードとして入力します。ログインのたびに同じようにします。",
            },
            picture: "code.svg",
            alt: Bi {
                en: "The code read from the bingo cells typed into the Code field.",
                ja: "ビンゴのマスから読み取ったコードを「コード」欄に入力する様子。",
            },
        },
    ],
};

static HARDWARE_TOKEN: Guide = Guide {
    name: Bi { en: "Hardware token", ja: "ハードウェアトークン" },
    summary: Bi {
        en: "A key fob or card that shows a one-time code at the press of a button. Your administrator assigns it to your account.",
        ja: "ボタンを押すとワンタイムコードを表示するキーホルダー型やカード型のトークンです。管理者があなたのアカウントに割り当てます。",
    },
    steps: &[
        Step {
            title: Bi { en: "Receive your token", ja: "トークンを受け取る" },
            text: Bi {
                en: "Your administrator hands you a token and assigns its serial number to your account. Nothing to install.",
                ja: "管理者からトークンを受け取ります。管理者がシリアル番号をあなたのアカウントに割り当てます。インストールは不要です。",
            },
            picture: "token.svg",
            alt: Bi {
                en: "A key-fob token with a button and a display showing six digits.",
                ja: "ボタンと6桁の表示があるキーホルダー型トークン。",
            },
        },
        SIGN_IN,
        Step {
            title: Bi { en: "Press the button and type the code", ja: "ボタンを押してコードを入力する" },
            text: Bi {
                en: "When asked, press the token's button and type the code it shows. If your organisation combines it with a PIN, type your PIN first, then the code.",
                ja: "求められたら、トークンのボタンを押して表示されたコードを入力します。PINと組み合わせる設定の場合は、PINに続けてコードを入力します。",
            },
            picture: "code.svg",
            alt: Bi {
                en: "The token's code typed into the Code field.",
                ja: "トークンのコードを「コード」欄に入力する様子。",
            },
        },
    ],
};

static CLIENT_CERTIFICATE: Guide = Guide {
    name: Bi { en: "Client certificate", ja: "クライアント証明書" },
    summary: Bi {
        en: "A certificate installed on your device proves that the sign-in comes from an approved device. Devices without it are refused.",
        ja: "端末にインストールした証明書で、許可された端末からのログインであることを証明します。証明書のない端末からはログインできません。",
    },
    steps: &[
        Step {
            title: Bi { en: "Receive your certificate", ja: "証明書を受け取る" },
            text: Bi {
                en: "You receive a certificate file (.p12) and its password: by e-mail, on a printed sheet, or as a download.",
                ja: "証明書ファイル(.p12)とそのパスワードを、メール、印刷した用紙、またはダウンロードで受け取ります。",
            },
            picture: "cert.svg",
            alt: Bi {
                en: "A certificate file with a seal, and a password on a separate sheet.",
                ja: "証明書ファイルと、別の用紙に書かれたパスワード。",
            },
        },
        Step {
            title: Bi { en: "Install it on your device", ja: "端末にインストールする" },
            text: Bi {
                en: "Open the file on the device you will sign in from and enter the password. Windows and macOS add it to the certificate store; on phones, follow the installer.",
                ja: "ログインに使う端末でファイルを開き、パスワードを入力します。WindowsやmacOSでは証明書ストアに追加されます。スマートフォンでは画面の案内に従います。",
            },
            picture: "cert.svg",
            alt: Bi {
                en: "The certificate being imported with its password.",
                ja: "パスワードを入力して証明書をインポートする様子。",
            },
        },
        Step {
            title: Bi { en: "Choose the certificate when asked", ja: "求められたら証明書を選ぶ" },
            text: Bi {
                en: "Open the sign-in page. The browser asks which certificate to use: choose yours and continue with the other steps.",
                ja: "ログイン画面を開くと、ブラウザが使用する証明書を尋ねます。ご自身の証明書を選び、ほかの手順に進みます。",
            },
            picture: "cert-choose.svg",
            alt: Bi {
                en: "The browser's certificate dialog with one certificate selected and an OK button.",
                ja: "1つの証明書が選択された、ブラウザの証明書選択ダイアログとOKボタン。",
            },
        },
    ],
};

static DEVICE_COOKIE: Guide = Guide {
    name: Bi { en: "Registered device", ja: "端末認証(デバイスクッキー)" },
    summary: Bi {
        en: "The browser you first sign in with is registered; later sign-ins are accepted only from registered browsers.",
        ja: "最初にログインしたブラウザが登録され、以後は登録済みのブラウザからのみログインできます。",
    },
    steps: &[
        Step {
            title: Bi { en: "Sign in from your own device", ja: "ご自身の端末からログインする" },
            text: Bi {
                en: "Use the device and browser you will use from now on, not a shared computer. Enter your user ID and pass the first step.",
                ja: "共用のパソコンではなく、今後使う端末とブラウザでログインします。ユーザーIDを入力し、最初の認証を行います。",
            },
            picture: "signin.svg",
            alt: Bi {
                en: "The sign-in page on a personal laptop.",
                ja: "個人のノートパソコンに表示されたログイン画面。",
            },
        },
        Step {
            title: Bi { en: "The browser is registered", ja: "ブラウザが登録される" },
            text: Bi {
                en: "At your first sign-in this browser is registered automatically. Your organisation sets how many devices you may register.",
                ja: "初回ログイン時に、このブラウザが自動的に登録されます。登録できる端末の数は組織が設定します。",
            },
            picture: "device.svg",
            alt: Bi {
                en: "A browser window with a check mark: this device is registered.",
                ja: "チェックマークの付いたブラウザ:この端末は登録済みです。",
            },
        },
        Step {
            title: Bi { en: "Keep the registration", ja: "登録を保つ" },
            text: Bi {
                en: "Do not delete this site's cookies, or the browser is no longer recognised. See and remove your devices on the portal under Security settings.",
                ja: "このサイトのクッキーを削除すると、ブラウザが認識されなくなります。登録済みの端末はポータルの「セキュリティ設定」で確認・削除できます。",
            },
            picture: "portal.svg",
            alt: Bi {
                en: "The portal, where registered devices are listed under Security settings.",
                ja: "ポータルの「セキュリティ設定」に登録済みの端末が一覧表示されます。",
            },
        },
    ],
};

static LOGIN_PROTECT: Guide = Guide {
    name: Bi { en: "Login protect", ja: "ログインプロテクト" },
    summary: Bi {
        en: "Sign-in is locked until you unlock it from your authenticator app; it then stays open for 60 seconds only.",
        ja: "ログインは通常ロックされており、認証アプリから解除したときだけ、60秒間ログインできます。",
    },
    steps: &[
        Step {
            title: Bi { en: "Pair the authenticator", ja: "認証アプリを登録する" },
            text: Bi {
                en: "Your administrator gives you a pairing code. Enter it in the reference authenticator (the /authenticator page) on your phone.",
                ja: "管理者からペアリングコードを受け取り、スマートフォンのリファレンス認証アプリ(/authenticator)に入力します。",
            },
            picture: "qr.svg",
            alt: Bi {
                en: "A phone next to the pairing code on the screen.",
                ja: "画面のペアリングコードとスマートフォン。",
            },
        },
        Step {
            title: Bi { en: "Unlock before you sign in", ja: "ログインの前にロックを解除する" },
            text: Bi {
                en: "Open the app and press Unlock (your phone may ask for your fingerprint or face). A 60-second window opens.",
                ja: "アプリを開いて「ロック解除」を押します(指紋や顔認証を求められる場合があります)。60秒間のログイン可能時間が始まります。",
            },
            picture: "unlock.svg",
            alt: Bi {
                en: "A phone with an open padlock and a 60-second countdown.",
                ja: "開いた南京錠と60秒のカウントダウンを表示したスマートフォン。",
            },
        },
        Step {
            title: Bi { en: "Sign in within 60 seconds", ja: "60秒以内にログインする" },
            text: Bi {
                en: "Sign in as usual within the window. Outside it, even a correct answer is refused: unlock again and retry.",
                ja: "解除した時間内に通常どおりログインします。時間外は正しく入力しても拒否されます。もう一度ロックを解除してやり直してください。",
            },
            picture: "signin.svg",
            alt: Bi {
                en: "The sign-in page.",
                ja: "ログイン画面。",
            },
        },
    ],
};

static PASSKEY: Guide = Guide {
    name: Bi { en: "Passkey", ja: "パスキー" },
    summary: Bi {
        en: "Your device's fingerprint, face or screen lock signs you in (Windows Hello, Touch ID, Android). Nothing to type.",
        ja: "端末の指紋、顔、画面ロック(Windows Hello、Touch ID、Android)でログインします。入力は不要です。",
    },
    steps: &[
        SIGN_IN,
        FIRST_STEP,
        Step {
            title: Bi { en: "Register a passkey", ja: "パスキーを登録する" },
            text: Bi {
                en: "On the portal, open Security settings, then Passkeys, and add one. Your device asks for your fingerprint, face or PIN.",
                ja: "ポータルの「セキュリティ設定」から「パスキー」を開いて追加します。端末が指紋、顔、またはPINを求めます。",
            },
            picture: "passkey.svg",
            alt: Bi {
                en: "A device prompt asking for a fingerprint to create a passkey.",
                ja: "パスキー作成のために指紋を求める端末の画面。",
            },
        },
        Step {
            title: Bi { en: "Sign in with the passkey", ja: "パスキーでログインする" },
            text: Bi {
                en: "Next time, when the passkey step comes, confirm with your fingerprint, face or screen lock.",
                ja: "次回からは、パスキーの手順で指紋、顔、または画面ロックで確認します。",
            },
            picture: "passkey.svg",
            alt: Bi {
                en: "The device prompt confirming the sign-in with a fingerprint.",
                ja: "指紋でログインを確認する端末の画面。",
            },
        },
    ],
};

static BIOMETRIC: Guide = Guide {
    name: Bi { en: "Face verification", ja: "顔認証" },
    summary: Bi {
        en: "A face-verification service compares your face with your registered photo through your camera.",
        ja: "顔認証サービスが、カメラで撮影したあなたの顔と登録済みの写真を照合します。",
    },
    steps: &[
        SIGN_IN,
        FIRST_STEP,
        Step {
            title: Bi { en: "Look into the camera", ja: "カメラを見る" },
            text: Bi {
                en: "You are taken to the face-verification page. Allow the camera and keep your face inside the frame until it is checked.",
                ja: "顔認証の画面に移動します。カメラの使用を許可し、確認が終わるまで顔を枠の中に収めます。",
            },
            picture: "face.svg",
            alt: Bi {
                en: "A face inside a camera frame with a check mark.",
                ja: "カメラの枠に収まった顔とチェックマーク。",
            },
        },
        Step {
            title: Bi { en: "Continue to your services", ja: "サービスに進む" },
            text: Bi {
                en: "You come back automatically and the sign-in continues. The portal shows your services.",
                ja: "自動的に戻り、ログインが続きます。ポータルに利用できるサービスが表示されます。",
            },
            picture: "portal.svg",
            alt: Bi {
                en: "The portal with service tiles.",
                ja: "サービスのタイルが並んだポータル。",
            },
        },
    ],
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_method_has_steps_with_pictures() {
        for m in GuideMethod::ALL {
            assert_eq!(GuideMethod::parse(m.as_str()), Some(m));
            let g = m.guide();
            assert!(g.steps.len() >= 3, "{}", m.as_str());
            for s in g.steps {
                assert!(picture(s.picture).is_some(), "{}", s.picture);
                assert!(!s.alt.en.is_empty() && !s.alt.ja.is_empty());
            }
        }
        assert_eq!(GuideMethod::parse("nope"), None);
    }

    #[test]
    fn urls_are_encoded() {
        assert_eq!(
            guide_url(
                "https://idp.example",
                GuideMethod::HardwareToken,
                Lang::En,
                None
            ),
            "https://idp.example/guide/hardware_token?lang=en"
        );
        assert_eq!(
            guide_url(
                "https://idp.example/",
                GuideMethod::Pin,
                Lang::En,
                Some("a&b=<c>")
            ),
            "https://idp.example/guide/pin?lang=en&user=a%26b%3D%3Cc%3E"
        );
        assert_eq!(
            guide_url("https://i", GuideMethod::Pin, Lang::En, Some(" \n")),
            "https://i/guide/pin?lang=en"
        );
        assert_eq!(clean_user(&"x".repeat(100)).len(), MAX_USER);
    }
}

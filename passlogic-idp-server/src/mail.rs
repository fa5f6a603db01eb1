//! E-mail delivery of client certificates (`cert issue USER --email`, admin API
//! `{"email": true}`) over SMTP with `lettre`. The PKCS#12 goes as an attachment; its password
//! never goes into the e-mail (it is on the printable sheet, or shown to the administrator once).
//!
//! Only plain `smtp://HOST:PORT` is supported (a local relay or sink, as on most mail set-ups
//! where the IdP hands mail to the host's MTA); STARTTLS/SMTPS to a remote server is not built.

use std::sync::OnceLock;

use lettre::message::header::ContentType;
use lettre::message::{Attachment, MultiPart, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// Where mail goes and who sends it.
#[derive(Clone, Debug)]
pub struct MailSettings {
    /// SMTP host.
    pub host: String,
    /// SMTP port.
    pub port: u16,
    /// Sender address.
    pub from: String,
}

static SERVE_SETTINGS: OnceLock<MailSettings> = OnceLock::new();

impl MailSettings {
    /// From `--smtp-url smtp://HOST:PORT` and `--smtp-from ADDRESS`.
    pub fn from_flags(url: &str, from: &str) -> anyhow::Result<MailSettings> {
        let u = url::Url::parse(url).map_err(|e| anyhow::anyhow!("--smtp-url {url}: {e}"))?;
        anyhow::ensure!(
            u.scheme() == "smtp",
            "--smtp-url {url}: only smtp://HOST:PORT (plain SMTP to a local relay) is supported"
        );
        let host = u
            .host_str()
            .ok_or_else(|| anyhow::anyhow!("--smtp-url {url}: no host"))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        from.parse::<lettre::message::Mailbox>()
            .map_err(|e| anyhow::anyhow!("--smtp-from {from}: {e}"))?;
        Ok(MailSettings {
            host,
            port: u.port().unwrap_or(25),
            from: from.to_owned(),
        })
    }

    /// The running server's settings (`serve --smtp-url/--smtp-from`), set once at start.
    pub fn set_for_serve(settings: MailSettings) {
        let _ = SERVE_SETTINGS.set(settings);
    }

    /// The running server's settings, if configured.
    pub fn for_serve() -> Option<&'static MailSettings> {
        SERVE_SETTINGS.get()
    }
}

/// Sends a user's PKCS#12 as an attachment.
pub async fn send_certificate(
    settings: &MailSettings,
    to: &str,
    user: &str,
    serial: &str,
    pkcs12: &[u8],
) -> anyhow::Result<()> {
    let body = format!(
        "Your client certificate for signing in (user {user}, serial {serial}) is attached as \
         {user}.p12.\n\nInstall it in your browser or operating system's certificate store. \
         The password to open it is NOT in this e-mail: your administrator gives it to you on a \
         printed sheet.\n\n\
         サインイン用のクライアント証明書 (ユーザー {user}、シリアル {serial}) を {user}.p12 として\
         添付しています。ブラウザーまたは OS の証明書ストアにインストールしてください。\
         開くためのパスワードはこのメールには含まれていません。管理者から印刷したシートでお渡しします。\n"
    );
    let message = Message::builder()
        .from(settings.from.parse()?)
        .to(to
            .parse()
            .map_err(|e| anyhow::anyhow!("e-mail address {to:?}: {e}"))?)
        .subject("Your client certificate / クライアント証明書")
        .multipart(
            MultiPart::mixed()
                .singlepart(SinglePart::plain(body))
                .singlepart(
                    Attachment::new(format!("{user}.p12"))
                        .body(pkcs12.to_vec(), ContentType::parse("application/x-pkcs12")?),
                ),
        )?;
    let transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(settings.host.as_str())
        .port(settings.port)
        .build();
    transport.send(message).await.map_err(|e| {
        anyhow::anyhow!(
            "sending mail through {}:{}: {e}",
            settings.host,
            settings.port
        )
    })?;
    Ok(())
}

//! Stored rows back into domain values (`crates/adapters/src/db/rows.rs`,
//! through the SQLite store as the service reads them): a real account and
//! passkey are stored, some of their columns overwritten with other SQL
//! values, and the repository reads them back. Never panics; a corrupted
//! row is an error (or not found), never a value that breaks the domain's
//! rules; an untouched row reads back as it was written.
//!
//! Input: lines `TABLE.COLUMN=VALUE` with `TABLE` `users` or `passkeys` and
//! `VALUE` one of `null`, `int:<i64>`, `real:<f64>`, `text:<bytes>` (not
//! necessarily UTF-8) or `blob:<hex>`.
#![no_main]

use chrono::{DateTime, TimeZone as _, Utc};
use diesel::connection::SimpleConnection as _;
use diesel::{Connection as _, SqliteConnection};
use libfuzzer_sys::fuzz_target;
use monetro_adapters::testing::TestDatabase;
use monetro_adapters::{DbSettings, DbStore};
use monetro_domain::{
    CredentialId, DisplayName, Email, NewUser, Passkey, PasskeyId, PasskeyName, User, UserHandle,
    UserId,
};
use monetro_fuzz::block_on;
use monetro_ports::{CredentialRepository as _, Journal, UserRepository as _};
use uuid::Uuid;

const USER_COLUMNS: [&str; 6] = [
    "id",
    "email",
    "display_name",
    "user_handle",
    "password_hash",
    "created_at",
];
const PASSKEY_COLUMNS: [&str; 12] = [
    "id",
    "user_id",
    "name",
    "credential_id",
    "verifier",
    "sign_count",
    "backup_eligible",
    "backed_up",
    "transports",
    "aaguid",
    "created_at",
    "last_used_at",
];

struct Database {
    store: DbStore,
    raw: SqliteConnection,
    _file: TestDatabase,
}

thread_local! {
    static DATABASE: std::cell::RefCell<Database> = std::cell::RefCell::new(open());
}

fn open() -> Database {
    let file = TestDatabase::sqlite();
    let store = DbStore::open(&DbSettings {
        url: file.url.clone(),
        max_connections: 1,
        acquire_timeout: std::time::Duration::from_secs(5),
    });
    let store = match store {
        Ok(store) => store,
        Err(e) => panic!("{e}"),
    };
    if let Err(e) = block_on(store.migrate()) {
        panic!("{e}");
    }
    let path = file.url.trim_start_matches("sqlite://");
    let mut raw = match SqliteConnection::establish(path) {
        Ok(raw) => raw,
        Err(e) => panic!("{e}"),
    };
    if let Err(e) = raw.batch_execute("PRAGMA busy_timeout = 5000; PRAGMA synchronous = OFF;") {
        panic!("{e}");
    }
    Database {
        store,
        raw,
        _file: file,
    }
}

fn at(seconds: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(seconds, 0).single().unwrap_or_default()
}

fn user() -> User {
    let display_name = DisplayName::parse("Ann").ok().flatten();
    User {
        id: UserId(Uuid::from_u128(0x0197_0000_0000_7000_8000_0000_0000_0001)),
        email: match Email::parse("ann@example.com") {
            Ok(email) => email,
            Err(e) => panic!("{e:?}"),
        },
        display_name,
        handle: UserHandle(Uuid::from_u128(0x5a5a_5a5a_0000_4000_8000_0000_0000_0002)),
        created_at: at(1_790_000_000),
    }
}

fn credential_id() -> CredentialId {
    match CredentialId::new((1..=16).collect()) {
        Ok(id) => id,
        Err(e) => panic!("{e:?}"),
    }
}

fn passkey(user: &User) -> Passkey {
    Passkey {
        id: PasskeyId(Uuid::from_u128(0x0197_0000_0000_7000_8000_0000_0000_0003)),
        user_id: user.id,
        name: PasskeyName::fallback("MacBook Touch ID"),
        credential_id: credential_id(),
        verifier: r#"{"cred":{"cred_id":"AQIDBAUGBwgJCgsMDQ4PEA"}}"#.into(),
        sign_count: 7,
        backup_eligible: true,
        backed_up: true,
        transports: vec!["internal".into(), "hybrid".into()],
        aaguid: Uuid::from_u128(0xfbfc_3007_154e_4ecc_8c0b_6e02_0557_d7bd),
        created_at: at(1_790_000_100),
        last_used_at: Some(at(1_790_000_200)),
    }
}

/// An SQL literal for `value`, or `None` when it is not one of the forms.
fn literal(value: &[u8]) -> Option<String> {
    let hex = |bytes: &[u8]| bytes.iter().map(|b| format!("{b:02X}")).collect::<String>();
    if value == b"null" {
        return Some("NULL".into());
    }
    if let Some(number) = value.strip_prefix(b"int:") {
        return std::str::from_utf8(number)
            .ok()?
            .parse::<i64>()
            .ok()
            .map(|n| n.to_string());
    }
    if let Some(number) = value.strip_prefix(b"real:") {
        let number = std::str::from_utf8(number).ok()?.parse::<f64>().ok()?;
        return number.is_finite().then(|| format!("{number:e}"));
    }
    if let Some(text) = value.strip_prefix(b"text:") {
        return Some(format!("CAST(X'{}' AS TEXT)", hex(text)));
    }
    let blob = value.strip_prefix(b"blob:")?;
    let digits = std::str::from_utf8(blob).ok()?;
    (digits.len() % 2 == 0 && digits.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| format!("X'{digits}'"))
}

/// The `UPDATE` statements the input asks for.
fn corruptions(data: &[u8], user: &User, passkey: &Passkey) -> Vec<String> {
    data.split(|b| *b == b'\n')
        .filter_map(|line| {
            let split = line.iter().position(|b| *b == b'=')?;
            let (target, value) = (line.get(..split)?, line.get(split + 1..)?);
            let (table, column) = std::str::from_utf8(target).ok()?.split_once('.')?;
            let (key, columns) = match table {
                "users" => (user.id.0, &USER_COLUMNS[..]),
                "passkeys" => (passkey.id.0, &PASSKEY_COLUMNS[..]),
                _ => return None,
            };
            columns.contains(&column).then_some(())?;
            let value = literal(value)?;
            Some(format!(
                "UPDATE {table} SET {column} = {value} WHERE id = '{}'",
                key.hyphenated()
            ))
        })
        .collect()
}

fuzz_target!(|data: &[u8]| {
    DATABASE.with(|database| {
        let mut database = database.borrow_mut();
        let user = user();
        let passkey = passkey(&user);
        let new_user = NewUser {
            user: user.clone(),
            password_hash: Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into()),
        };
        if let Err(e) = block_on(database.store.create_user(new_user, Journal::default())) {
            panic!("{e:?}");
        }
        if let Err(e) = block_on(database.store.insert_passkey(
            passkey.clone(),
            20,
            Journal::default(),
        )) {
            panic!("{e:?}");
        }
        let mut changed = false;
        for update in corruptions(data, &user, &passkey) {
            changed |= database.raw.batch_execute(&update).is_ok();
        }
        read_back(&database.store, &user, &passkey, changed);
        if let Err(e) = database
            .raw
            .batch_execute("DELETE FROM passkeys; DELETE FROM audit_events; DELETE FROM users;")
        {
            panic!("{e}");
        }
    });
});

fn read_back(store: &DbStore, user: &User, passkey: &Passkey, changed: bool) {
    let listed = block_on(store.list_passkeys(user.id));
    let found = block_on(store.find_passkey_with_owner(&credential_id()));
    let owner = block_on(store.find_user(user.id));
    let by_handle = block_on(store.find_user_by_handle(user.handle));
    let by_email = block_on(store.find_user_by_email(&user.email));
    for read in listed.iter().flatten() {
        valid_passkey(read);
    }
    if let Ok(Some((read, read_owner))) = &found {
        valid_passkey(read);
        valid_user(read_owner);
    }
    for read in [&owner, &by_handle].into_iter().flatten().flatten() {
        valid_user(read);
    }
    if let Ok(Some(read)) = &by_email {
        valid_user(&read.user);
    }
    if !changed {
        assert_eq!(
            listed.ok(),
            Some(vec![passkey.clone()]),
            "an untouched row changed"
        );
        assert_eq!(found.ok(), Some(Some((passkey.clone(), user.clone()))));
        assert_eq!(owner.ok(), Some(Some(user.clone())));
    }
}

fn valid_passkey(passkey: &Passkey) {
    let name = passkey.name.as_str();
    assert_eq!(
        PasskeyName::parse(name).ok(),
        Some(Some(passkey.name.clone())),
        "stored name {name:?} read back"
    );
    assert!((1..=1023).contains(&passkey.credential_id.as_bytes().len()));
    for transport in &passkey.transports {
        assert!(
            !transport.is_empty() && !transport.contains(','),
            "transport {transport:?} read back"
        );
    }
}

fn valid_user(user: &User) {
    let email = user.email.as_str();
    assert_eq!(
        Email::parse(email).ok(),
        Some(user.email.clone()),
        "stored email {email:?} read back"
    );
    if let Some(name) = &user.display_name {
        assert_eq!(
            DisplayName::parse(name.as_str()).ok(),
            Some(Some(name.clone())),
            "stored display name read back"
        );
    }
}

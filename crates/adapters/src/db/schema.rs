//! The tables, once per backend: the same columns, with each backend's
//! native types (see the migrations).

/// PostgreSQL: native `uuid` and `timestamptz`.
pub mod pg {
    diesel::table! {
        users (id) {
            id -> Uuid,
            email -> Text,
            display_name -> Nullable<Text>,
            user_handle -> Uuid,
            password_hash -> Nullable<Text>,
            created_at -> Timestamptz,
        }
    }

    diesel::table! {
        passkeys (id) {
            id -> Uuid,
            user_id -> Uuid,
            name -> Text,
            credential_id -> Bytea,
            verifier -> Text,
            sign_count -> BigInt,
            backup_eligible -> Bool,
            backed_up -> Bool,
            transports -> Text,
            aaguid -> Uuid,
            created_at -> Timestamptz,
            last_used_at -> Nullable<Timestamptz>,
        }
    }

    diesel::table! {
        ceremonies (handle) {
            handle -> Text,
            kind -> Text,
            user_id -> Nullable<Uuid>,
            state -> Text,
            expires_at -> Timestamptz,
        }
    }

    diesel::table! {
        audit_events (id) {
            id -> Uuid,
            user_id -> Uuid,
            kind -> Text,
            code -> Nullable<Text>,
            passkey_id -> Nullable<Uuid>,
            client_ip -> Nullable<Text>,
            user_agent -> Nullable<Text>,
            created_at -> Timestamptz,
        }
    }

    diesel::table! {
        webhook_outbox (id) {
            id -> Uuid,
            event_id -> Uuid,
            endpoint -> Text,
            event_type -> Text,
            payload -> Text,
            status -> Text,
            attempts -> Integer,
            next_attempt_at -> Timestamptz,
            last_error -> Nullable<Text>,
            created_at -> Timestamptz,
            delivered_at -> Nullable<Timestamptz>,
        }
    }
    diesel::joinable!(passkeys -> users (user_id));
    diesel::allow_tables_to_appear_in_same_query!(users, passkeys, ceremonies, audit_events);

    diesel::table! {
        sessions (id) {
            id -> Uuid,
            user_id -> Uuid,
            token_hash -> Bytea,
            method -> Text,
            auth_time -> Timestamptz,
            created_at -> Timestamptz,
            last_seen_at -> Timestamptz,
            expires_at -> Timestamptz,
            user_agent -> Nullable<Text>,
            client_ip -> Nullable<Text>,
            revoked_at -> Nullable<Timestamptz>,
        }
    }

    diesel::table! {
        session_retired_tokens (token_hash) {
            token_hash -> Bytea,
            session_id -> Uuid,
            expires_at -> Timestamptz,
        }
    }
}

/// SQLite: UUIDs as text, timestamps as RFC 3339 text.
pub mod sqlite {
    diesel::table! {
        users (id) {
            id -> Text,
            email -> Text,
            display_name -> Nullable<Text>,
            user_handle -> Text,
            password_hash -> Nullable<Text>,
            created_at -> TimestamptzSqlite,
        }
    }

    diesel::table! {
        passkeys (id) {
            id -> Text,
            user_id -> Text,
            name -> Text,
            credential_id -> Binary,
            verifier -> Text,
            sign_count -> BigInt,
            backup_eligible -> Bool,
            backed_up -> Bool,
            transports -> Text,
            aaguid -> Text,
            created_at -> TimestamptzSqlite,
            last_used_at -> Nullable<TimestamptzSqlite>,
        }
    }

    diesel::table! {
        ceremonies (handle) {
            handle -> Text,
            kind -> Text,
            user_id -> Nullable<Text>,
            state -> Text,
            expires_at -> TimestamptzSqlite,
        }
    }

    diesel::table! {
        audit_events (id) {
            id -> Text,
            user_id -> Text,
            kind -> Text,
            code -> Nullable<Text>,
            passkey_id -> Nullable<Text>,
            client_ip -> Nullable<Text>,
            user_agent -> Nullable<Text>,
            created_at -> TimestamptzSqlite,
        }
    }

    diesel::table! {
        webhook_outbox (id) {
            id -> Text,
            event_id -> Text,
            endpoint -> Text,
            event_type -> Text,
            payload -> Text,
            status -> Text,
            attempts -> Integer,
            next_attempt_at -> TimestamptzSqlite,
            last_error -> Nullable<Text>,
            created_at -> TimestamptzSqlite,
            delivered_at -> Nullable<TimestamptzSqlite>,
        }
    }
    diesel::joinable!(passkeys -> users (user_id));
    diesel::allow_tables_to_appear_in_same_query!(users, passkeys, ceremonies, audit_events);

    diesel::table! {
        sessions (id) {
            id -> Text,
            user_id -> Text,
            token_hash -> Binary,
            method -> Text,
            auth_time -> TimestamptzSqlite,
            created_at -> TimestamptzSqlite,
            last_seen_at -> TimestamptzSqlite,
            expires_at -> TimestamptzSqlite,
            user_agent -> Nullable<Text>,
            client_ip -> Nullable<Text>,
            revoked_at -> Nullable<TimestamptzSqlite>,
        }
    }

    diesel::table! {
        session_retired_tokens (token_hash) {
            token_hash -> Binary,
            session_id -> Text,
            expires_at -> TimestamptzSqlite,
        }
    }
}

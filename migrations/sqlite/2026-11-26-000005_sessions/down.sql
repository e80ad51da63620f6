DROP TABLE session_retired_tokens;
DROP TABLE sessions;

DROP TABLE ceremonies;
DROP TABLE passkeys;
DROP TABLE users;

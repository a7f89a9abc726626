-- IAM: user groups, their members, grants of roles (Keystone roles, system
-- and custom policies) to groups on a project, a domain, every project of a
-- domain (inherited) or an enterprise project; custom policy documents.

CREATE TABLE user_groups (
    id          TEXT PRIMARY KEY,
    domain_id   TEXT NOT NULL REFERENCES domains(id),
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL,
    UNIQUE (domain_id, name)
);

CREATE TABLE group_members (
    group_id TEXT NOT NULL REFERENCES user_groups(id) ON DELETE CASCADE,
    user_id  TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX group_members_user ON group_members (user_id);

-- scope: 'project' | 'domain' | 'inherited' | 'enterprise_project'; target:
-- the project, domain or enterprise project id.
CREATE TABLE group_grants (
    group_id TEXT NOT NULL REFERENCES user_groups(id) ON DELETE CASCADE,
    role_id  TEXT NOT NULL REFERENCES roles(id) ON DELETE CASCADE,
    scope    TEXT NOT NULL,
    target   TEXT NOT NULL,
    PRIMARY KEY (group_id, role_id, scope, target)
);

CREATE TABLE custom_policies (
    role_id      TEXT PRIMARY KEY REFERENCES roles(id) ON DELETE CASCADE,
    domain_id    TEXT NOT NULL REFERENCES domains(id),
    display_name TEXT NOT NULL,
    description  TEXT NOT NULL DEFAULT '',
    kind         TEXT NOT NULL,
    document     TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);

-- Bumped by every IAM change: a process (a server, another node) that
-- keeps policies in memory reloads them when it moves.
CREATE TABLE iam_generation (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    generation INTEGER NOT NULL
);
INSERT INTO iam_generation (id, generation) VALUES (1, 0);

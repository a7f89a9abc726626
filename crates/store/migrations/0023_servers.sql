-- Compute servers (issue 12) and their disks. A disk is a volume attached
-- to the server through an ordinary attachment row; the disk row adds how
-- the guest sees it and what happens to it when the server goes.
CREATE TABLE servers (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT,
    flavor TEXT NOT NULL,
    vcpus INTEGER NOT NULL,
    ram_mib INTEGER NOT NULL,
    image_id TEXT,
    availability_zone TEXT NOT NULL,
    key_name TEXT,
    user_data TEXT,
    metadata TEXT NOT NULL DEFAULT '{}',
    vm_state TEXT NOT NULL,
    task_state TEXT,
    power_state INTEGER NOT NULL DEFAULT 0,
    origin TEXT NOT NULL,
    fault TEXT,
    locked INTEGER NOT NULL DEFAULT 0,
    reservation_id TEXT NOT NULL,
    launch_index INTEGER NOT NULL DEFAULT 0,
    network TEXT NOT NULL DEFAULT 'null',
    host TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    launched_at TEXT
);
CREATE INDEX servers_project ON servers (project_id, created_at);

CREATE TABLE server_disks (
    server_id TEXT NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
    volume_id TEXT NOT NULL,
    attachment_id TEXT NOT NULL,
    device TEXT NOT NULL,
    boot_index INTEGER,
    delete_on_termination INTEGER NOT NULL DEFAULT 0,
    created INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL,
    PRIMARY KEY (server_id, volume_id),
    UNIQUE (server_id, device)
);
CREATE INDEX server_disks_volume ON server_disks (volume_id);

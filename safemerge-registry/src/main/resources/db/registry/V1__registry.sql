-- One schema for SQLite and PostgreSQL. ${id} is the dialect's auto-generated key column
-- (INTEGER PRIMARY KEY AUTOINCREMENT / BIGSERIAL PRIMARY KEY). Times are UTC instants as fixed-width ISO-8601
-- text (YYYY-MM-DDTHH:MM:SS.ffffffZ), so text order is time order in both dialects. Flags are 0/1 integers.

CREATE TABLE sweep (
    id ${id},
    name TEXT NOT NULL UNIQUE,
    method TEXT NOT NULL,
    settings TEXT NOT NULL,
    created_at TEXT NOT NULL,
    actor TEXT NOT NULL
);

CREATE TABLE model_version (
    id ${id},
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    content_hash TEXT NOT NULL,
    location TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('base', 'fine-tuned', 'adapter', 'merge')),
    -- the exact mergekit YAML or training settings that produced the weights
    recipe TEXT,
    data_hash TEXT,
    sweep_id BIGINT REFERENCES sweep (id),
    -- the swept parameter's value (e.g. the merge weight λ) within the sweep
    sweep_value DOUBLE PRECISION,
    branch TEXT,
    created_at TEXT NOT NULL,
    actor TEXT NOT NULL,
    UNIQUE (name, version),
    UNIQUE (name, content_hash)
);

-- the tensor files behind a content hash, checked again by 'registry verify'
CREATE TABLE model_file (
    version_id BIGINT NOT NULL REFERENCES model_version (id),
    path TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    PRIMARY KEY (version_id, path)
);

CREATE TABLE model_parent (
    child_id BIGINT NOT NULL REFERENCES model_version (id),
    parent_id BIGINT NOT NULL REFERENCES model_version (id),
    position INTEGER NOT NULL,
    PRIMARY KEY (child_id, parent_id)
);

CREATE TABLE branch (
    name TEXT PRIMARY KEY,
    head_version_id BIGINT NOT NULL REFERENCES model_version (id),
    updated_at TEXT NOT NULL
);

CREATE TABLE prompt_version (
    id ${id},
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('system-prompt', 'chat-template')),
    content TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    created_at TEXT NOT NULL,
    actor TEXT NOT NULL,
    UNIQUE (name, version),
    UNIQUE (name, content_hash)
);

CREATE TABLE prompt_label (
    name TEXT NOT NULL,
    label TEXT NOT NULL,
    prompt_version_id BIGINT NOT NULL REFERENCES prompt_version (id),
    PRIMARY KEY (name, label)
);

-- e.g. max ASR 0.05 on suite 'core-safety'
CREATE TABLE prompt_constraint (
    prompt_version_id BIGINT NOT NULL REFERENCES prompt_version (id),
    suite TEXT NOT NULL,
    metric TEXT NOT NULL CHECK (metric IN ('asr', 'over_refusal')),
    max_value DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (prompt_version_id, suite, metric)
);

CREATE TABLE evaluation (
    id ${id},
    model_version_id BIGINT NOT NULL REFERENCES model_version (id),
    prompt_version_id BIGINT REFERENCES prompt_version (id),
    kind TEXT NOT NULL CHECK (kind IN ('safety', 'over-refusal', 'task')),
    suite TEXT NOT NULL,
    suite_hash TEXT NOT NULL,
    judge TEXT NOT NULL,
    judge_hash TEXT NOT NULL,
    prompts_hash TEXT NOT NULL,
    protocol_hash TEXT NOT NULL,
    seed BIGINT,
    -- hash of judge, prompts and protocol (seed and decoding): only equal keys are compared
    comparability_key TEXT NOT NULL,
    -- 'asr' (safety), 'refusal_rate' (over-refusal) or the task metric's name
    metric TEXT NOT NULL,
    value DOUBLE PRECISION,
    n INTEGER NOT NULL,
    ci_low DOUBLE PRECISION,
    ci_high DOUBLE PRECISION,
    summary TEXT NOT NULL,
    -- set when a later evaluation of the same suite changed judge, prompts, seed or decoding
    superseded_by BIGINT REFERENCES evaluation (id),
    created_at TEXT NOT NULL,
    actor TEXT NOT NULL
);
CREATE INDEX evaluation_by_model ON evaluation (model_version_id, suite);

CREATE TABLE evaluation_category (
    evaluation_id BIGINT NOT NULL REFERENCES evaluation (id),
    category TEXT NOT NULL,
    n INTEGER NOT NULL,
    hits INTEGER NOT NULL,
    value DOUBLE PRECISION,
    ci_low DOUBLE PRECISION,
    ci_high DOUBLE PRECISION,
    PRIMARY KEY (evaluation_id, category)
);

-- every per-prompt verdict, so that paired tests can be run later
CREATE TABLE evaluation_item (
    evaluation_id BIGINT NOT NULL REFERENCES evaluation (id),
    position INTEGER NOT NULL,
    item_id TEXT NOT NULL,
    category TEXT NOT NULL,
    prompt TEXT NOT NULL,
    response TEXT NOT NULL,
    -- 'unsafe' / 'safe' / 'missing' for safety; 'refused' / 'answered' for over-refusal; 'pass' / 'fail' for tasks
    verdict TEXT NOT NULL,
    refusal INTEGER NOT NULL,
    score DOUBLE PRECISION,
    PRIMARY KEY (evaluation_id, position)
);

CREATE TABLE gate_verdict (
    id ${id},
    model_version_id BIGINT NOT NULL REFERENCES model_version (id),
    baseline_version_id BIGINT REFERENCES model_version (id),
    suite TEXT NOT NULL,
    suite_hash TEXT NOT NULL,
    outcome TEXT NOT NULL CHECK (outcome IN ('pass', 'fail', 'inconclusive')),
    verdict TEXT NOT NULL,
    created_at TEXT NOT NULL,
    actor TEXT NOT NULL
);

-- an alias points at a model version or follows another alias
CREATE TABLE alias (
    name TEXT PRIMARY KEY,
    version_id BIGINT REFERENCES model_version (id),
    target_alias TEXT,
    pinned INTEGER NOT NULL DEFAULT 0,
    updated_at TEXT NOT NULL,
    CHECK ((version_id IS NULL) <> (target_alias IS NULL))
);

CREATE TABLE alias_move (
    id ${id},
    alias TEXT NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('set', 'rollback')),
    from_version_id BIGINT REFERENCES model_version (id),
    to_version_id BIGINT REFERENCES model_version (id),
    to_alias TEXT,
    gate_verdict_id BIGINT REFERENCES gate_verdict (id),
    -- for a rollback: the earlier move whose version it restored (the next rollback looks before that move)
    restored_move_id BIGINT REFERENCES alias_move (id),
    override INTEGER NOT NULL,
    reason TEXT,
    -- the alias's pin after the move (a rollback can pin; only an override moves a pinned alias)
    pinned INTEGER NOT NULL,
    actor TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX alias_move_by_alias ON alias_move (alias, id);

CREATE TABLE tag (
    version_id BIGINT NOT NULL REFERENCES model_version (id),
    tag TEXT NOT NULL,
    -- the evaluation an automatic tag was computed from
    evaluation_id BIGINT REFERENCES evaluation (id),
    automatic INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    actor TEXT NOT NULL,
    PRIMARY KEY (version_id, tag)
);

-- append-only; each entry's hash covers the previous entry's hash
CREATE TABLE audit_log (
    seq BIGINT PRIMARY KEY,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    subject TEXT NOT NULL,
    detail TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);

-- the chain's last entry (so that dropping entries from the end is detected); its one row is also the lock
-- every writing transaction takes first on PostgreSQL
CREATE TABLE audit_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

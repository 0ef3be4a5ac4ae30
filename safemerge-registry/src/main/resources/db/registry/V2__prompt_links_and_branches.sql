-- Prompt versions in gate verdicts and on branches; branches with a base, a prompt head and every head move.
-- Columns are added, never changed, so that V1 databases migrate in place.

-- the prompt version the gate ran with (its evaluations are linked to it), or NULL
ALTER TABLE gate_verdict ADD COLUMN prompt_version_id BIGINT REFERENCES prompt_version (id);

-- the branch a prompt edit was made on (its prompt head moved to it), or NULL
ALTER TABLE prompt_version ADD COLUMN branch TEXT;

-- the branch whose head an alias was promoted from, or NULL
ALTER TABLE alias_move ADD COLUMN branch TEXT;

-- where the line of work started, its current prompt version (NULL: none yet), when and by whom it was created
ALTER TABLE branch ADD COLUMN base_version_id BIGINT REFERENCES model_version (id);
ALTER TABLE branch ADD COLUMN head_prompt_version_id BIGINT REFERENCES prompt_version (id);
ALTER TABLE branch ADD COLUMN created_at TEXT;
ALTER TABLE branch ADD COLUMN actor TEXT;

-- branches of V1 started implicitly with their first version
UPDATE branch SET
    base_version_id = (SELECT MIN(m.id) FROM model_version m WHERE m.branch = branch.name),
    created_at = (SELECT MIN(m.created_at) FROM model_version m WHERE m.branch = branch.name),
    actor = (SELECT m.actor FROM model_version m WHERE m.branch = branch.name ORDER BY m.id LIMIT 1);

-- every move of a branch's heads, oldest first: its creation, a model version or a prompt version added on it
CREATE TABLE branch_move (
    id ${id},
    branch TEXT NOT NULL REFERENCES branch (name),
    action TEXT NOT NULL CHECK (action IN ('create', 'model', 'prompt')),
    model_version_id BIGINT NOT NULL REFERENCES model_version (id),
    prompt_version_id BIGINT REFERENCES prompt_version (id),
    at TEXT NOT NULL,
    actor TEXT NOT NULL
);
CREATE INDEX branch_move_by_branch ON branch_move (branch, id);

INSERT INTO branch_move (branch, action, model_version_id, prompt_version_id, at, actor)
SELECT m.branch, 'model', m.id, NULL, m.created_at, m.actor FROM model_version m
WHERE m.branch IS NOT NULL ORDER BY m.id;

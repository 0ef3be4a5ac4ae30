package dev.safemerge.registry;

import dev.safemerge.tensor.BadInputException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The registry: model versions identified by the content hash of their tensors, prompt versions, evaluations with
 * every per-prompt verdict, tags (automatic ones recomputed when evaluations land), gate verdicts, aliases that move
 * only through a passing gate or an explicit override, branches, and the hash-chained audit log that records every
 * change. One instance holds one connection and is not thread-safe; processes and threads each open their own.
 * Every change is one transaction under the database's writer lock, with its audit entry in the same transaction.
 */
public final class Registry implements AutoCloseable {
    /** How long a writer waits for another process's transaction before giving up (SQLite). */
    public static final Duration DEFAULT_BUSY_TIMEOUT = Duration.ofSeconds(30);

    /** Over-refusal above the base's by more than this many points (as a fraction) tags a version over-refusing. */
    public static final double OVER_REFUSAL_TOLERANCE = 0.02;

    private static final DateTimeFormatter TIME =
            DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss.SSSSSS'Z'").withZone(ZoneOffset.UTC);
    private static final Pattern ALIAS = Pattern.compile("[A-Za-z][A-Za-z0-9._-]{0,63}");
    private static final Pattern TAG = Pattern.compile("[A-Za-z0-9<>=._+-]{1,64}");
    private static final String MODEL_COLUMNS = "m.id, m.name, m.version, m.content_hash, m.location, m.kind, m.recipe,"
            + " m.data_hash, s.name, m.sweep_value, m.branch, m.created_at, m.actor";
    private static final String MODEL_FROM = " FROM model_version m LEFT JOIN sweep s ON s.id = m.sweep_id";

    private final Database database;
    private final String actor;

    private Registry(Database database, String actor) {
        this.database = database;
        this.actor = actor;
    }

    /** Opens {@code db} (a SQLite file path, a {@code jdbc:postgresql://} URL, or null for the default file). */
    public static Registry open(String db, String actor) {
        return open(db, actor, DEFAULT_BUSY_TIMEOUT);
    }

    public static Registry open(String db, String actor, Duration busyTimeout) {
        String who = actor == null || actor.isBlank() ? System.getProperty("user.name", "unknown") : actor;
        return new Registry(Database.open(db, busyTimeout), who);
    }

    /** The content hash a model directory would be registered under (tensor files; SHA256SUMS where present). */
    public static String contentHashOf(Path modelDir) {
        return ModelFiles.of(modelDir.toAbsolutePath().normalize()).contentHash();
    }

    /** The default database file. */
    public static Path defaultFile() {
        return Database.defaultFile();
    }

    /** The database, for messages (passwords masked). */
    public String description() {
        return database.description();
    }

    public String actor() {
        return actor;
    }

    static String now() {
        return TIME.format(Instant.now());
    }

    /** Formats an instant the way the registry stores times. */
    public static String format(Instant instant) {
        return TIME.format(instant);
    }

    // ---------------------------------------------------------------- models

    /** Creates a sweep (the λ variants of one safeguard run); the same name again returns the existing sweep's id. */
    public long addSweep(String name, String method, String settings) {
        VersionRef.checkName(name);
        return database.write(c -> {
            Long existing = queryLong(c, "SELECT id FROM sweep WHERE name = ?", name);
            if (existing != null) {
                return existing;
            }
            long id = insertReturningId(
                    c,
                    "INSERT INTO sweep (name, method, settings, created_at, actor) VALUES (?, ?, ?, ?, ?)",
                    name,
                    method,
                    settings == null ? "" : settings,
                    now(),
                    actor);
            audit(c, "sweep.add", name, "method=" + method);
            return id;
        });
    }

    /** Every sweep, by name. */
    public List<Sweep> sweeps() {
        return database.read(c -> {
            List<Sweep> out = new ArrayList<>();
            try (PreparedStatement s = c.prepareStatement(
                            "SELECT name, method, settings, created_at, actor FROM sweep ORDER BY name");
                    ResultSet r = s.executeQuery()) {
                while (r.next()) {
                    out.add(new Sweep(r.getString(1), r.getString(2), r.getString(3), r.getString(4), r.getString(5)));
                }
            }
            return out;
        });
    }

    /**
     * Registers a model directory. The same tensors under the same name give the existing version; otherwise the next
     * version number. Hashing reads SHA256SUMS where present (see {@link ModelFiles}).
     */
    public Registered<ModelVersion> addModel(NewModel model) {
        VersionRef.checkName(model.name());
        Path location = model.location().toAbsolutePath().normalize();
        ModelFiles files = ModelFiles.of(location);
        return database.write(c -> {
            Optional<ModelVersion> existing =
                    queryModels(c, " WHERE m.name = ? AND m.content_hash = ?", model.name(), files.contentHash())
                            .stream()
                            .findFirst();
            if (existing.isPresent()) {
                return new Registered<>(existing.get(), false);
            }
            List<Long> parentIds = new ArrayList<>();
            for (VersionRef parent : model.parents()) {
                parentIds.add(versionId(c, parent));
            }
            Long sweepId = null;
            if (model.sweep() != null) {
                sweepId = queryLong(c, "SELECT id FROM sweep WHERE name = ?", model.sweep());
                if (sweepId == null) {
                    throw new BadInputException("sweep " + model.sweep() + ": unknown");
                }
            }
            if (model.branch() != null) {
                VersionRef.checkName(model.branch());
            }
            Long last = queryLong(c, "SELECT MAX(version) FROM model_version WHERE name = ?", model.name());
            int version = last == null ? 1 : (int) (last + 1);
            String at = now();
            long id = insertReturningId(
                    c,
                    "INSERT INTO model_version (name, version, content_hash, location, kind, recipe, data_hash,"
                            + " sweep_id, sweep_value, branch, created_at, actor)"
                            + " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    model.name(),
                    version,
                    files.contentHash(),
                    location.toString(),
                    model.kind().label(),
                    model.recipe(),
                    model.dataHash(),
                    sweepId,
                    model.sweepValue(),
                    model.branch(),
                    at,
                    actor);
            for (var file : files.sha256ByFile().entrySet()) {
                update(
                        c,
                        "INSERT INTO model_file (version_id, path, sha256) VALUES (?, ?, ?)",
                        id,
                        file.getKey(),
                        file.getValue());
            }
            for (int i = 0; i < parentIds.size(); i++) {
                update(
                        c,
                        "INSERT INTO model_parent (child_id, parent_id, position) VALUES (?, ?, ?)",
                        id,
                        parentIds.get(i),
                        i);
            }
            if (model.branch() != null) {
                if (branchRow(c, model.branch()) == null) {
                    // a version added on a branch nobody created starts it
                    insertBranch(c, model.branch(), id, null, at);
                } else {
                    moveBranch(c, model.branch(), "model", id, null, at);
                }
            }
            VersionRef ref = new VersionRef(model.name(), version);
            audit(
                    c,
                    "model.add",
                    ref.toString(),
                    "content_hash=" + files.contentHash() + "; kind="
                            + model.kind().label() + "; location=" + location + "; parents=" + model.parents()
                            + (model.branch() == null ? "" : "; branch=" + model.branch()));
            return new Registered<>(modelById(c, id), true);
        });
    }

    public List<ModelVersion> models() {
        return database.read(c -> queryModels(c, " ORDER BY m.name, m.version"));
    }

    public ModelVersion model(VersionRef ref) {
        return database.read(c -> modelById(c, versionId(c, ref)));
    }

    /** Every ancestor link of {@code ref}, nearest first. */
    public List<LineageEdge> lineage(VersionRef ref) {
        return database.read(c -> {
            List<LineageEdge> edges = new ArrayList<>();
            Deque<long[]> queue = new ArrayDeque<>();
            queue.add(new long[] {versionId(c, ref), 0});
            Set<Long> seen = new HashSet<>();
            while (!queue.isEmpty()) {
                long[] next = queue.poll();
                if (!seen.add(next[0])) {
                    continue;
                }
                ModelVersion child = modelById(c, next[0]);
                for (ModelVersion parent : queryModels(
                        c,
                        " JOIN model_parent p ON p.parent_id = m.id WHERE p.child_id = ? ORDER BY p.position",
                        next[0])) {
                    edges.add(new LineageEdge(child.ref(), parent.ref(), parent.kind(), (int) next[1] + 1));
                    queue.add(new long[] {parent.id(), next[1] + 1});
                }
            }
            return edges;
        });
    }

    public List<Branch> branches() {
        return database.read(c -> {
            List<Branch> out = new ArrayList<>();
            for (String name : queryStrings(c, "SELECT name FROM branch ORDER BY name")) {
                out.add(branchRow(c, name));
            }
            return out;
        });
    }

    /**
     * Starts a line of work at {@code base} (its head until versions are added on it), optionally with a prompt
     * version ({@code NAME:N} or {@code NAME@LABEL}) as its prompt head.
     */
    public Branch createBranch(String name, VersionRef base, String prompt) {
        VersionRef.checkName(name);
        return database.write(c -> {
            if (branchRow(c, name) != null) {
                throw new BadInputException("branch " + name + " already exists");
            }
            long baseId = versionId(c, base);
            Long promptId = prompt == null ? null : promptId(c, prompt);
            insertBranch(c, name, baseId, promptId, now());
            Branch created = branchRow(c, name);
            audit(
                    c,
                    "branch.create",
                    name,
                    "base=" + created.base() + "; prompt="
                            + (created.headPrompt() == null ? "none" : created.headPrompt()));
            return created;
        });
    }

    public Branch branch(String name) {
        return database.read(c -> {
            Branch branch = branchRow(c, name);
            if (branch == null) {
                throw new BadInputException("branch " + name + ": unknown");
            }
            return branch;
        });
    }

    /** Every move of a branch's heads, oldest first. */
    public List<BranchMove> branchHistory(String name) {
        return database.read(c -> {
            if (branchRow(c, name) == null) {
                throw new BadInputException("branch " + name + ": unknown");
            }
            List<BranchMove> out = new ArrayList<>();
            try (PreparedStatement s = c.prepareStatement(
                    "SELECT id, action, model_version_id, prompt_version_id, at, actor FROM branch_move"
                            + " WHERE branch = ? ORDER BY id")) {
                bind(s, name);
                try (ResultSet r = s.executeQuery()) {
                    while (r.next()) {
                        Long prompt = nullableLong(r, 4);
                        out.add(new BranchMove(
                                r.getLong(1),
                                name,
                                r.getString(2),
                                refOf(c, r.getLong(3)),
                                prompt == null ? null : promptById(c, prompt).ref(),
                                r.getString(5),
                                r.getString(6)));
                    }
                }
            }
            return out;
        });
    }

    /**
     * Moves {@code alias} to the head of {@code branch}. Without {@code override} the head's latest gate verdict run
     * with the branch's prompt head (none when the branch has no prompt) must be a pass, and a pinned alias does not
     * move; with it a reason is required. The move records the branch.
     */
    public AliasMove promoteBranch(String branch, String alias, boolean override, String reason) {
        checkAlias(alias);
        checkOverride(override, reason);
        return database.write(c -> {
            Branch row = branchRow(c, branch);
            if (row == null) {
                throw new BadInputException("branch " + branch + ": unknown");
            }
            Long verdict = null;
            if (!override) {
                long head = versionId(c, row.head());
                verdict = row.headPrompt() == null
                        ? queryLong(
                                c,
                                "SELECT MAX(id) FROM gate_verdict WHERE model_version_id = ?"
                                        + " AND prompt_version_id IS NULL",
                                head)
                        : queryLong(
                                c,
                                "SELECT MAX(id) FROM gate_verdict WHERE model_version_id = ? AND prompt_version_id = ?",
                                head,
                                promptId(c, row.headPrompt().toString()));
                if (verdict == null) {
                    throw new BadInputException("branch " + branch + ": its head " + row.head()
                            + (row.headPrompt() == null ? "" : " with prompt " + row.headPrompt())
                            + " has no gate verdict: run 'safemerge gate " + row.head() + " --suite SUITE.yml"
                            + (row.headPrompt() == null ? "" : " --prompt-version " + row.headPrompt())
                            + "' or promote with --override --reason TEXT");
                }
            }
            return moveAlias(c, alias, row.head().toString(), override, reason, verdict, branch);
        });
    }

    // ---------------------------------------------------------------- prompts

    /**
     * Registers a prompt asset version (kind {@code system-prompt} or {@code chat-template}); the same content again
     * gives the existing version. Labels move to this version; constraints are stored with it.
     */
    public Registered<PromptVersion> addPrompt(
            String name, String kind, String content, List<String> labels, List<PromptConstraint> constraints) {
        return addPrompt(name, kind, content, labels, constraints, null);
    }

    /**
     * {@link #addPrompt(String, String, String, List, List)} on a branch (null: none), whose prompt head moves to the
     * version. The same content again must come with the same kind and no other constraints: versions are immutable.
     */
    public Registered<PromptVersion> addPrompt(
            String name,
            String kind,
            String content,
            List<String> labels,
            List<PromptConstraint> constraints,
            String branch) {
        VersionRef.checkName(name);
        if (!kind.equals("system-prompt") && !kind.equals("chat-template")) {
            throw new BadInputException("prompt kind " + kind + ": one of system-prompt, chat-template");
        }
        for (String label : labels) {
            checkAlias(label);
        }
        for (PromptConstraint constraint : constraints) {
            if (!constraint.metric().equals("asr") && !constraint.metric().equals("over_refusal")) {
                throw new BadInputException("constraint metric " + constraint.metric() + ": one of asr, over_refusal");
            }
            if (!(constraint.max() >= 0 && constraint.max() <= 1)) {
                throw new BadInputException("constraint " + constraint.metric() + " on " + constraint.suite()
                        + ": the maximum must be between 0 and 1, got " + constraint.max());
            }
        }
        String hash = "sha256:" + Hashing.sha256Hex(content);
        return database.write(c -> {
            Long existing =
                    queryLong(c, "SELECT id FROM prompt_version WHERE name = ? AND content_hash = ?", name, hash);
            boolean created = existing == null;
            long id;
            VersionRef ref;
            if (created) {
                Long last = queryLong(c, "SELECT MAX(version) FROM prompt_version WHERE name = ?", name);
                ref = new VersionRef(name, last == null ? 1 : (int) (last + 1));
                id = insertReturningId(
                        c,
                        "INSERT INTO prompt_version (name, version, kind, content, content_hash, created_at, actor,"
                                + " branch) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        name,
                        ref.version(),
                        kind,
                        content,
                        hash,
                        now(),
                        actor,
                        branch);
                for (PromptConstraint constraint : constraints) {
                    update(
                            c,
                            "INSERT INTO prompt_constraint (prompt_version_id, suite, metric, max_value)"
                                    + " VALUES (?, ?, ?, ?)",
                            id,
                            constraint.suite(),
                            constraint.metric(),
                            constraint.max());
                }
            } else {
                id = existing;
                PromptVersion stored = promptById(c, id);
                ref = stored.ref();
                if (!stored.kind().equals(kind)) {
                    throw new BadInputException(ref + " holds this content as a " + stored.kind() + ", not a " + kind);
                }
                if (!constraints.isEmpty() && !Set.copyOf(constraints).equals(Set.copyOf(stored.constraints()))) {
                    throw new BadInputException(ref + " holds this content with constraints " + stored.constraints()
                            + "; a version never changes: add the content under another name or change it");
                }
            }
            for (String label : labels) {
                setLabel(c, name, label, id);
            }
            if (created || !labels.isEmpty() || branch != null) {
                audit(
                        c,
                        created ? "prompt.add" : branch != null ? "prompt.branch" : "prompt.label",
                        ref.toString(),
                        "hash=" + hash + "; labels=" + labels + (branch == null ? "" : "; branch=" + branch));
            }
            if (branch != null) {
                if (branchRow(c, branch) == null) {
                    throw new BadInputException("branch " + branch + ": unknown (create it with 'registry branch"
                            + " create " + branch + " --from NAME:N')");
                }
                moveBranch(c, branch, "prompt", null, id, now());
            }
            return new Registered<>(promptById(c, id), created);
        });
    }

    /** Moves {@code label} of a prompt's name to the version {@code reference} ({@code NAME:N} or another label). */
    public PromptVersion labelPrompt(String reference, String label) {
        checkAlias(label);
        return database.write(c -> {
            long id = promptId(c, reference);
            PromptVersion version = promptById(c, id);
            Long from = queryLong(
                    c,
                    "SELECT prompt_version_id FROM prompt_label WHERE name = ? AND label = ?",
                    version.ref().name(),
                    label);
            setLabel(c, version.ref().name(), label, id);
            audit(
                    c,
                    "prompt.label",
                    version.ref().toString(),
                    "label=" + label + "; from="
                            + (from == null ? "none" : promptById(c, from).ref()));
            return promptById(c, id);
        });
    }

    private static void setLabel(Connection c, String name, String label, long promptVersionId) throws SQLException {
        update(c, "DELETE FROM prompt_label WHERE name = ? AND label = ?", name, label);
        update(
                c,
                "INSERT INTO prompt_label (name, label, prompt_version_id) VALUES (?, ?, ?)",
                name,
                label,
                promptVersionId);
    }

    /** A prompt version by {@code NAME:N} or {@code NAME@LABEL}. */
    public PromptVersion prompt(String reference) {
        return database.read(c -> promptById(c, promptId(c, reference)));
    }

    public List<PromptVersion> prompts() {
        return database.read(c -> {
            List<PromptVersion> out = new ArrayList<>();
            for (Long id : queryLongs(c, "SELECT id FROM prompt_version ORDER BY name, version")) {
                out.add(promptById(c, id));
            }
            return out;
        });
    }

    // ---------------------------------------------------------------- evaluations

    /**
     * Records an evaluation with every item. Earlier evaluations of the same suite whose judge, prompts or protocol
     * differ are marked superseded (not comparable); automatic tags of the model and its descendants are recomputed.
     */
    public Evaluation addEvaluation(NewEvaluation e) {
        if (!Set.of("safety", "over-refusal", "task").contains(e.kind())) {
            throw new BadInputException("evaluation kind " + e.kind() + ": one of safety, over-refusal, task");
        }
        return database.write(c -> {
            long modelId = versionId(c, e.model());
            Long promptId = e.prompt() == null ? null : promptId(c, e.prompt().toString());
            // a prompt version's content is part of what was measured: another prompt makes older verdicts
            // incomparable, as another judge or protocol does (without one the key is the three hashes, as ever)
            String key = promptId == null
                    ? Hashing.sha256OfFields(e.judgeHash(), e.promptsHash(), e.protocolHash())
                    : Hashing.sha256OfFields(
                            e.judgeHash(),
                            e.promptsHash(),
                            e.protocolHash(),
                            "prompt " + promptById(c, promptId).contentHash());
            long id = insertReturningId(
                    c,
                    "INSERT INTO evaluation (model_version_id, prompt_version_id, kind, suite, suite_hash, judge,"
                            + " judge_hash, prompts_hash, protocol_hash, seed, comparability_key, metric, value, n,"
                            + " ci_low, ci_high, summary, created_at, actor)"
                            + " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    modelId,
                    promptId,
                    e.kind(),
                    e.suite(),
                    e.suiteHash(),
                    e.judge(),
                    e.judgeHash(),
                    e.promptsHash(),
                    e.protocolHash(),
                    e.seed(),
                    key,
                    e.metric(),
                    e.value(),
                    e.n(),
                    e.ciLow(),
                    e.ciHigh(),
                    e.summaryJson(),
                    now(),
                    actor);
            for (CategoryRate rate : e.categories()) {
                update(
                        c,
                        "INSERT INTO evaluation_category (evaluation_id, category, n, hits, value, ci_low, ci_high)"
                                + " VALUES (?, ?, ?, ?, ?, ?, ?)",
                        id,
                        rate.category(),
                        rate.n(),
                        rate.hits(),
                        rate.value(),
                        rate.ciLow(),
                        rate.ciHigh());
            }
            try (PreparedStatement insert = c.prepareStatement(
                    "INSERT INTO evaluation_item (evaluation_id, position, item_id, category, prompt, response,"
                            + " verdict, refusal, score, judge_output) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")) {
                int position = 0;
                for (EvaluationItem item : e.items()) {
                    bind(
                            insert,
                            id,
                            position++,
                            item.itemId(),
                            item.category(),
                            item.prompt(),
                            item.response(),
                            item.verdict(),
                            item.refusal() ? 1 : 0,
                            item.score(),
                            item.judgeOutput());
                    insert.addBatch();
                }
                insert.executeBatch();
            }
            int superseded = update(
                    c,
                    "UPDATE evaluation SET superseded_by = ? WHERE suite = ? AND kind = ? AND comparability_key <> ?"
                            + " AND superseded_by IS NULL",
                    id,
                    e.suite(),
                    e.kind(),
                    key);
            audit(
                    c,
                    "evaluation.add",
                    e.model().toString(),
                    "evaluation=" + id + "; kind=" + e.kind() + "; suite=" + e.suite() + "; " + e.metric() + "="
                            + e.value() + "; n=" + e.n() + "; superseded=" + superseded
                            + (e.prompt() == null
                                    ? ""
                                    : "; prompt=" + promptById(c, promptId).ref()));
            AutoTags.recompute(c, modelId, now(), actor);
            return evaluationById(c, id);
        });
    }

    public List<Evaluation> evaluations(VersionRef model) {
        return database.read(
                c -> queryEvaluations(c, " WHERE e.model_version_id = ? ORDER BY e.id", versionId(c, model)));
    }

    public Evaluation evaluation(long id) {
        return database.read(c -> evaluationById(c, id));
    }

    /** The newest comparable (not superseded) evaluation of a model on a suite, of a kind. */
    public Optional<Evaluation> latestEvaluation(VersionRef model, String suite, String kind) {
        return database.read(c -> queryEvaluations(
                        c,
                        " WHERE e.model_version_id = ? AND e.suite = ? AND e.kind = ? AND e.superseded_by IS NULL"
                                + " ORDER BY e.id DESC",
                        versionId(c, model),
                        suite,
                        kind)
                .stream()
                .findFirst());
    }

    /**
     * The newest comparable evaluation of a model on a suite, of a kind, run with the prompt version {@code prompt}
     * ({@code NAME:N} or {@code NAME@LABEL}; null: run with no prompt version).
     */
    public Optional<Evaluation> latestEvaluation(VersionRef model, String suite, String kind, String prompt) {
        return database.read(c -> {
            long modelId = versionId(c, model);
            String where =
                    " WHERE e.model_version_id = ? AND e.suite = ? AND e.kind = ? AND e.superseded_by IS NULL AND ";
            List<Evaluation> found = prompt == null
                    ? queryEvaluations(
                            c, where + "e.prompt_version_id IS NULL ORDER BY e.id DESC", modelId, suite, kind)
                    : queryEvaluations(
                            c,
                            where + "e.prompt_version_id = ? ORDER BY e.id DESC",
                            modelId,
                            suite,
                            kind,
                            promptId(c, prompt));
            return found.stream().findFirst();
        });
    }

    public List<EvaluationItem> items(long evaluationId) {
        return database.read(c -> {
            List<EvaluationItem> out = new ArrayList<>();
            try (PreparedStatement s = c.prepareStatement(
                    "SELECT item_id, category, prompt, response, verdict, refusal, score, judge_output"
                            + " FROM evaluation_item"
                            + " WHERE evaluation_id = ? ORDER BY position")) {
                bind(s, evaluationId);
                try (ResultSet r = s.executeQuery()) {
                    while (r.next()) {
                        out.add(new EvaluationItem(
                                r.getString(1),
                                r.getString(2),
                                r.getString(3),
                                r.getString(4),
                                r.getString(5),
                                r.getInt(6) == 1,
                                nullableDouble(r, 7),
                                r.getString(8)));
                    }
                }
            }
            return out;
        });
    }

    public List<CategoryRate> categories(long evaluationId) {
        return database.read(c -> {
            List<CategoryRate> out = new ArrayList<>();
            try (PreparedStatement s = c.prepareStatement("SELECT category, n, hits, value, ci_low, ci_high"
                    + " FROM evaluation_category WHERE evaluation_id = ? ORDER BY category")) {
                bind(s, evaluationId);
                try (ResultSet r = s.executeQuery()) {
                    while (r.next()) {
                        out.add(new CategoryRate(
                                r.getString(1),
                                r.getInt(2),
                                r.getInt(3),
                                nullableDouble(r, 4),
                                nullableDouble(r, 5),
                                nullableDouble(r, 6)));
                    }
                }
            }
            return out;
        });
    }

    // ---------------------------------------------------------------- tags

    public void tag(VersionRef model, String tag) {
        if (!TAG.matcher(tag).matches()) {
            throw new BadInputException("tag " + tag + ": 1-64 letters, digits or <>=._+-");
        }
        database.write(c -> {
            long id = versionId(c, model);
            if (queryLong(c, "SELECT version_id FROM tag WHERE version_id = ? AND tag = ?", id, tag) != null) {
                throw new BadInputException(model + " already has tag " + tag);
            }
            update(
                    c,
                    "INSERT INTO tag (version_id, tag, evaluation_id, automatic, created_at, actor)"
                            + " VALUES (?, ?, NULL, 0, ?, ?)",
                    id,
                    tag,
                    now(),
                    actor);
            audit(c, "tag.add", model.toString(), "tag=" + tag);
            return null;
        });
    }

    public List<Tag> tags(VersionRef model) {
        return database.read(c -> {
            List<Tag> out = new ArrayList<>();
            try (PreparedStatement s = c.prepareStatement("SELECT tag, evaluation_id, automatic, created_at, actor"
                    + " FROM tag WHERE version_id = ? ORDER BY tag")) {
                bind(s, versionId(c, model));
                try (ResultSet r = s.executeQuery()) {
                    while (r.next()) {
                        out.add(new Tag(
                                model,
                                r.getString(1),
                                nullableLong(r, 2),
                                r.getInt(3) == 1,
                                r.getString(4),
                                r.getString(5)));
                    }
                }
            }
            return out;
        });
    }

    // ---------------------------------------------------------------- gates and aliases

    /** Stores a gate verdict with the version it judged. */
    public GateVerdict recordGateVerdict(
            VersionRef model, VersionRef baseline, String suite, String suiteHash, String outcome, String json) {
        return recordGateVerdict(model, baseline, null, suite, suiteHash, outcome, json);
    }

    /** Stores a gate verdict with the version it judged and the prompt version it ran with (null: none). */
    public GateVerdict recordGateVerdict(
            VersionRef model,
            VersionRef baseline,
            String prompt,
            String suite,
            String suiteHash,
            String outcome,
            String json) {
        if (!Set.of("pass", "fail", "inconclusive").contains(outcome)) {
            throw new IllegalArgumentException("gate outcome " + outcome);
        }
        return database.write(c -> {
            long id = insertReturningId(
                    c,
                    "INSERT INTO gate_verdict (model_version_id, baseline_version_id, prompt_version_id, suite,"
                            + " suite_hash, outcome, verdict, created_at, actor) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    versionId(c, model),
                    baseline == null ? null : versionId(c, baseline),
                    prompt == null ? null : promptId(c, prompt),
                    suite,
                    suiteHash,
                    outcome,
                    json,
                    now(),
                    actor);
            audit(
                    c,
                    "gate.verdict",
                    model.toString(),
                    "verdict=" + id + "; suite=" + suite + "; outcome=" + outcome + "; baseline=" + baseline
                            + (prompt == null ? "" : "; prompt=" + prompt));
            return gateVerdictById(c, id);
        });
    }

    public List<GateVerdict> gateVerdicts(VersionRef model) {
        return database.read(c -> {
            List<GateVerdict> out = new ArrayList<>();
            for (Long id : queryLongs(
                    c, "SELECT id FROM gate_verdict WHERE model_version_id = ? ORDER BY id", versionId(c, model))) {
                out.add(gateVerdictById(c, id));
            }
            return out;
        });
    }

    /**
     * Points {@code alias} at {@code target} ({@code NAME:N}, or another alias's name to follow it). Without
     * {@code override} the target version's latest gate verdict must be a pass (or {@code gateVerdictId}, a passing
     * verdict of that version, is given) and the alias must not be pinned; with it a reason is required.
     */
    public AliasMove setAlias(String alias, String target, boolean override, String reason, Long gateVerdictId) {
        checkAlias(alias);
        checkOverride(override, reason);
        return database.write(c -> moveAlias(c, alias, target, override, reason, gateVerdictId, null));
    }

    private static void checkOverride(boolean override, String reason) {
        if (override && (reason == null || reason.isBlank())) {
            throw new BadInputException("--override needs --reason TEXT");
        }
    }

    private AliasMove moveAlias(
            Connection c,
            String alias,
            String target,
            boolean override,
            String reason,
            Long gateVerdictId,
            String branch)
            throws SQLException {
        {
            String toAlias = null;
            long toVersion;
            if (target.contains(":")) {
                toVersion = versionId(c, VersionRef.parse(target));
            } else {
                toAlias = checkAlias(target);
                List<String> chain = new ArrayList<>(List.of(alias));
                toVersion = resolveAlias(c, target, chain);
            }
            Long verdict = null;
            if (!override) {
                verdict = passingVerdict(c, toVersion, gateVerdictId);
            }
            AliasRow current = aliasRow(c, alias);
            if (current != null && current.pinned() && !override) {
                throw new BadInputException("alias " + alias + " is pinned to " + refOf(c, current.versionId())
                        + "; moving it needs --override --reason TEXT");
            }
            Long from = current == null ? null : resolveAlias(c, alias, new ArrayList<>());
            String at = now();
            if (current == null) {
                update(
                        c,
                        "INSERT INTO alias (name, version_id, target_alias, pinned, updated_at) VALUES (?, ?, ?, 0, ?)",
                        alias,
                        toAlias == null ? toVersion : null,
                        toAlias,
                        at);
            } else {
                update(
                        c,
                        "UPDATE alias SET version_id = ?, target_alias = ?, pinned = 0, updated_at = ? WHERE name = ?",
                        toAlias == null ? toVersion : null,
                        toAlias,
                        at,
                        alias);
            }
            long moveId = insertMove(
                    c,
                    alias,
                    "set",
                    from,
                    toAlias == null ? toVersion : null,
                    toAlias,
                    verdict,
                    override,
                    reason,
                    false,
                    at,
                    branch);
            audit(
                    c,
                    "alias.set",
                    alias,
                    "from=" + (from == null ? "none" : refOf(c, from)) + "; to="
                            + (toAlias == null ? refOf(c, toVersion).toString() : "alias " + toAlias)
                            + "; gate_verdict="
                            + verdict + "; override=" + override + "; reason=" + reason
                            + (branch == null ? "" : "; branch=" + branch));
            return moveById(c, moveId);
        }
    }

    /** Where {@code alias} points now, or at {@code at} when given. */
    public AliasState alias(String alias, Instant at) {
        checkAlias(alias);
        return database.read(c -> {
            if (at == null) {
                AliasRow row = aliasRow(c, alias);
                if (row == null) {
                    throw new BadInputException("alias " + alias + ": unknown");
                }
                List<String> via = new ArrayList<>();
                long version = resolveAlias(c, alias, via);
                Long lastMove = queryLong(c, "SELECT MAX(id) FROM alias_move WHERE alias = ?", alias);
                return new AliasState(
                        alias, refOf(c, version), via.subList(1, via.size()), moveById(c, lastMove), row.pinned());
            }
            List<String> via = new ArrayList<>();
            AliasMove move = null;
            String name = alias;
            while (true) {
                if (via.contains(name)) {
                    throw new BadInputException("alias cycle: " + String.join(" -> ", via) + " -> " + name);
                }
                via.add(name);
                Long moveId =
                        queryLong(c, "SELECT MAX(id) FROM alias_move WHERE alias = ? AND at <= ?", name, format(at));
                if (moveId == null) {
                    throw new BadInputException("alias " + name + " did not exist at " + format(at));
                }
                AliasMove found = moveById(c, moveId);
                move = move == null ? found : move;
                if (found.toAlias() == null) {
                    return new AliasState(alias, found.to(), via.subList(1, via.size()), move, move.pinned());
                }
                name = found.toAlias();
            }
        });
    }

    /** Every move of an alias, oldest first. */
    public List<AliasMove> aliasHistory(String alias) {
        checkAlias(alias);
        return database.read(c -> {
            List<AliasMove> out = new ArrayList<>();
            for (Long id : queryLongs(c, "SELECT id FROM alias_move WHERE alias = ? ORDER BY id", alias)) {
                out.add(moveById(c, id));
            }
            if (out.isEmpty()) {
                throw new BadInputException("alias " + alias + ": unknown");
            }
            return out;
        });
    }

    /**
     * Moves {@code alias} back to the most recent earlier version it pointed at through a passing gate, optionally
     * pinning it there (then only an override moves it).
     */
    public AliasMove rollback(String alias, boolean pin) {
        checkAlias(alias);
        return database.write(c -> {
            AliasRow row = aliasRow(c, alias);
            if (row == null) {
                throw new BadInputException("alias " + alias + ": unknown");
            }
            if (row.versionId() == null) {
                throw new BadInputException(
                        "alias " + alias + " follows alias " + row.targetAlias() + "; roll that one back");
            }
            // Walk back from the move that set the current version (for a rollback: the move it restored), so that
            // repeated rollbacks keep going back instead of swinging between two versions.
            long latest = queryLong(c, "SELECT MAX(id) FROM alias_move WHERE alias = ?", alias);
            Long restored = queryLong(c, "SELECT restored_move_id FROM alias_move WHERE id = ?", latest);
            long cursor = restored == null ? latest : restored;
            AliasMove target = null;
            for (Long id : queryLongs(
                    c,
                    "SELECT id FROM alias_move WHERE alias = ? AND action = 'set' AND id < ? ORDER BY id DESC",
                    alias,
                    cursor)) {
                AliasMove move = moveById(c, id);
                if (move.to() != null
                        && move.gateVerdictId() != null
                        && versionId(c, move.to()) != row.versionId()
                        && gateVerdictById(c, move.gateVerdictId()).passed()) {
                    target = move;
                    break;
                }
            }
            if (target == null) {
                throw new BadInputException(
                        "alias " + alias + ": no earlier version that passed a gate to roll back to");
            }
            long toVersion = versionId(c, target.to());
            String at = now();
            update(
                    c,
                    "UPDATE alias SET version_id = ?, pinned = ?, updated_at = ? WHERE name = ?",
                    toVersion,
                    pin || row.pinned() ? 1 : 0,
                    at,
                    alias);
            String reason = "rollback to the version set by move " + target.id();
            long moveId = insertMove(
                    c,
                    alias,
                    "rollback",
                    row.versionId(),
                    toVersion,
                    null,
                    target.gateVerdictId(),
                    false,
                    reason,
                    pin || row.pinned(),
                    at,
                    null);
            update(c, "UPDATE alias_move SET restored_move_id = ? WHERE id = ?", target.id(), moveId);
            audit(
                    c,
                    "alias.rollback",
                    alias,
                    "from=" + refOf(c, row.versionId()) + "; to=" + target.to() + "; gate_verdict="
                            + target.gateVerdictId() + "; pinned=" + (pin || row.pinned()));
            return moveById(c, moveId);
        });
    }

    /** Every alias's current state. */
    public List<AliasState> aliases() {
        List<String> names = database.read(c -> {
            List<String> out = new ArrayList<>();
            try (PreparedStatement s = c.prepareStatement("SELECT name FROM alias ORDER BY name");
                    ResultSet r = s.executeQuery()) {
                while (r.next()) {
                    out.add(r.getString(1));
                }
            }
            return out;
        });
        List<AliasState> out = new ArrayList<>();
        for (String name : names) {
            out.add(alias(name, null));
        }
        return out;
    }

    // ---------------------------------------------------------------- audit

    public List<AuditEntry> log() {
        return database.read(Registry::auditEntries);
    }

    /**
     * Checks the audit chain (every entry's hash, its link to the previous one, no gap, the recorded head) and every
     * registered model's tensor files against their recorded SHA-256.
     */
    public VerifyReport verify() {
        return database.read(c -> {
            List<String> problems = new ArrayList<>();
            List<AuditEntry> entries = auditEntries(c);
            String previous = "0".repeat(64);
            long expectedSeq = 1;
            for (AuditEntry entry : entries) {
                if (entry.seq() != expectedSeq) {
                    problems.add("audit log: entry " + expectedSeq + " is missing (next is " + entry.seq() + ")");
                }
                if (!entry.prevHash().equals(previous)) {
                    problems.add("audit log: entry " + entry.seq() + " does not link to the entry before it");
                }
                String hash = AuditEntry.hashOf(
                        entry.seq(),
                        entry.at(),
                        entry.actor(),
                        entry.action(),
                        entry.subject(),
                        entry.detail(),
                        entry.prevHash());
                if (!hash.equals(entry.hash())) {
                    problems.add("audit log: entry " + entry.seq() + " (" + entry.action() + " " + entry.subject()
                            + ") was changed after it was written");
                }
                previous = entry.hash();
                expectedSeq = entry.seq() + 1;
            }
            try (PreparedStatement s = c.prepareStatement("SELECT seq, hash FROM audit_head WHERE id = 1");
                    ResultSet r = s.executeQuery()) {
                if (!r.next()
                        || r.getLong(1) != expectedSeq - 1
                        || !r.getString(2).equals(previous)) {
                    problems.add("audit log: the last entry is not the recorded head (entries were removed or added)");
                }
            }
            List<ModelVersion> models = queryModels(c, " ORDER BY m.id");
            for (ModelVersion model : models) {
                problems.addAll(fileProblems(c, model));
            }
            return new VerifyReport(entries.size(), models.size(), problems);
        });
    }

    /** Throws when the model's tensor files no longer match what was registered (before generating from them). */
    public void checkFiles(VersionRef ref) {
        List<String> problems = database.read(c -> fileProblems(c, modelById(c, versionId(c, ref))));
        if (!problems.isEmpty()) {
            throw new BadInputException(problems.getFirst());
        }
    }

    private static List<String> fileProblems(Connection c, ModelVersion model) throws SQLException {
        List<String> problems = new ArrayList<>();
        Path dir = Path.of(model.location());
        Map<String, String> recorded = new LinkedHashMap<>();
        try (PreparedStatement s =
                c.prepareStatement("SELECT path, sha256 FROM model_file WHERE version_id = ? ORDER BY path")) {
            bind(s, model.id());
            try (ResultSet r = s.executeQuery()) {
                while (r.next()) {
                    recorded.put(r.getString(1), r.getString(2));
                }
            }
        }
        for (var file : recorded.entrySet()) {
            Path path = dir.resolve(file.getKey());
            if (!Files.isRegularFile(path)) {
                problems.add(model.ref() + ": " + path + " is missing");
            } else if (!Hashing.sha256Hex(path).equals(file.getValue())) {
                problems.add(model.ref() + ": " + path + " no longer matches its recorded SHA-256");
            }
        }
        return problems;
    }

    @Override
    public void close() {
        database.close();
    }

    // ---------------------------------------------------------------- internals

    private record AliasRow(Long versionId, String targetAlias, boolean pinned) {}

    private static String checkAlias(String alias) {
        if (alias == null || !ALIAS.matcher(alias).matches()) {
            throw new BadInputException(
                    alias + ": an alias or label is 1-64 letters, digits, '.', '_', '-', starting with a letter");
        }
        return alias;
    }

    private static Branch branchRow(Connection c, String name) throws SQLException {
        try (PreparedStatement s = c.prepareStatement("SELECT head_version_id, updated_at, base_version_id,"
                + " head_prompt_version_id, created_at, actor FROM branch WHERE name = ?")) {
            bind(s, name);
            try (ResultSet r = s.executeQuery()) {
                if (!r.next()) {
                    return null;
                }
                Long prompt = nullableLong(r, 4);
                return new Branch(
                        name,
                        refOf(c, r.getLong(1)),
                        r.getString(2),
                        refOf(c, r.getLong(3)),
                        prompt == null ? null : promptById(c, prompt).ref(),
                        r.getString(5),
                        r.getString(6));
            }
        }
    }

    private void insertBranch(Connection c, String name, long headId, Long promptId, String at) throws SQLException {
        update(
                c,
                "INSERT INTO branch (name, head_version_id, updated_at, base_version_id, head_prompt_version_id,"
                        + " created_at, actor) VALUES (?, ?, ?, ?, ?, ?, ?)",
                name,
                headId,
                at,
                headId,
                promptId,
                at,
                actor);
        insertBranchMove(c, name, "create", headId, promptId, at);
    }

    /** Moves a branch's model head ({@code action} model) or prompt head ({@code action} prompt). */
    private void moveBranch(Connection c, String name, String action, Long modelId, Long promptId, String at)
            throws SQLException {
        if (modelId != null) {
            update(c, "UPDATE branch SET head_version_id = ?, updated_at = ? WHERE name = ?", modelId, at, name);
        } else {
            update(
                    c,
                    "UPDATE branch SET head_prompt_version_id = ?, updated_at = ? WHERE name = ?",
                    promptId,
                    at,
                    name);
        }
        Branch moved = branchRow(c, name);
        insertBranchMove(
                c,
                name,
                action,
                versionId(c, moved.head()),
                moved.headPrompt() == null
                        ? null
                        : promptId(c, moved.headPrompt().toString()),
                at);
    }

    private void insertBranchMove(Connection c, String name, String action, long modelId, Long promptId, String at)
            throws SQLException {
        update(
                c,
                "INSERT INTO branch_move (branch, action, model_version_id, prompt_version_id, at, actor)"
                        + " VALUES (?, ?, ?, ?, ?, ?)",
                name,
                action,
                modelId,
                promptId,
                at,
                actor);
    }

    private static AliasRow aliasRow(Connection c, String alias) throws SQLException {
        try (PreparedStatement s =
                c.prepareStatement("SELECT version_id, target_alias, pinned FROM alias WHERE name = ?")) {
            bind(s, alias);
            try (ResultSet r = s.executeQuery()) {
                return r.next() ? new AliasRow(nullableLong(r, 1), r.getString(2), r.getInt(3) == 1) : null;
            }
        }
    }

    /** The version an alias reaches, following aliases; {@code via} collects the names and catches cycles. */
    private static long resolveAlias(Connection c, String alias, List<String> via) throws SQLException {
        String name = alias;
        while (true) {
            if (via.contains(name)) {
                throw new BadInputException("alias cycle: " + String.join(" -> ", via) + " -> " + name);
            }
            via.add(name);
            AliasRow row = aliasRow(c, name);
            if (row == null) {
                throw new BadInputException("alias " + name + ": unknown");
            }
            if (row.versionId() != null) {
                return row.versionId();
            }
            name = row.targetAlias();
        }
    }

    private static Long passingVerdict(Connection c, long versionId, Long given) throws SQLException {
        Long id = given != null
                ? given
                : queryLong(c, "SELECT MAX(id) FROM gate_verdict WHERE model_version_id = ?", versionId);
        VersionRef ref = refOf(c, versionId);
        if (id == null) {
            throw new BadInputException(ref + " has no gate verdict: run 'safemerge gate " + ref
                    + " --suite SUITE.yml' or move the alias with --override --reason TEXT");
        }
        GateVerdict verdict = gateVerdictById(c, id);
        if (!verdict.model().equals(ref)) {
            throw new BadInputException("gate verdict " + id + " judged " + verdict.model() + ", not " + ref);
        }
        if (!verdict.passed()) {
            throw new BadInputException(ref + ": its latest gate verdict (" + id + ", suite " + verdict.suite()
                    + ") is " + verdict.outcome() + ", not pass");
        }
        return id;
    }

    private long insertMove(
            Connection c,
            String alias,
            String action,
            Long from,
            Long to,
            String toAlias,
            Long verdict,
            boolean override,
            String reason,
            boolean pinned,
            String at,
            String branch)
            throws SQLException {
        return insertReturningId(
                c,
                "INSERT INTO alias_move (alias, action, from_version_id, to_version_id, to_alias, gate_verdict_id,"
                        + " override, reason, pinned, actor, at, branch) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                alias,
                action,
                from,
                to,
                toAlias,
                verdict,
                override ? 1 : 0,
                reason,
                pinned ? 1 : 0,
                actor,
                at,
                branch);
    }

    private static AliasMove moveById(Connection c, long id) throws SQLException {
        try (PreparedStatement s = c.prepareStatement(
                "SELECT alias, action, from_version_id, to_version_id, to_alias, gate_verdict_id, override, reason,"
                        + " pinned, actor, at, branch FROM alias_move WHERE id = ?")) {
            bind(s, id);
            try (ResultSet r = s.executeQuery()) {
                r.next();
                Long from = nullableLong(r, 3);
                Long to = nullableLong(r, 4);
                return new AliasMove(
                        id,
                        r.getString(1),
                        r.getString(2),
                        from == null ? null : refOf(c, from),
                        to == null ? null : refOf(c, to),
                        r.getString(5),
                        nullableLong(r, 6),
                        r.getInt(7) == 1,
                        r.getString(8),
                        r.getInt(9) == 1,
                        r.getString(10),
                        r.getString(11),
                        r.getString(12));
            }
        }
    }

    private static GateVerdict gateVerdictById(Connection c, long id) throws SQLException {
        try (PreparedStatement s = c.prepareStatement("SELECT model_version_id, baseline_version_id, suite, suite_hash,"
                + " outcome, verdict, created_at, actor, prompt_version_id FROM gate_verdict WHERE id = ?")) {
            bind(s, id);
            try (ResultSet r = s.executeQuery()) {
                if (!r.next()) {
                    throw new BadInputException("gate verdict " + id + ": unknown");
                }
                Long baseline = nullableLong(r, 2);
                Long prompt = nullableLong(r, 9);
                return new GateVerdict(
                        id,
                        refOf(c, r.getLong(1)),
                        baseline == null ? null : refOf(c, baseline),
                        r.getString(3),
                        r.getString(4),
                        r.getString(5),
                        r.getString(6),
                        r.getString(7),
                        r.getString(8),
                        prompt == null ? null : promptById(c, prompt).ref());
            }
        }
    }

    static long versionId(Connection c, VersionRef ref) throws SQLException {
        Long id =
                queryLong(c, "SELECT id FROM model_version WHERE name = ? AND version = ?", ref.name(), ref.version());
        if (id == null) {
            Long last = queryLong(c, "SELECT MAX(version) FROM model_version WHERE name = ?", ref.name());
            throw new BadInputException(ref + ": unknown model version"
                    + (last == null
                            ? " (no model named " + ref.name() + ")"
                            : " (latest is " + ref.name() + ":" + last + ")"));
        }
        return id;
    }

    static VersionRef refOf(Connection c, long versionId) throws SQLException {
        try (PreparedStatement s = c.prepareStatement("SELECT name, version FROM model_version WHERE id = ?")) {
            bind(s, versionId);
            try (ResultSet r = s.executeQuery()) {
                r.next();
                return new VersionRef(r.getString(1), r.getInt(2));
            }
        }
    }

    static ModelVersion modelById(Connection c, long id) throws SQLException {
        return queryModels(c, " WHERE m.id = ?", id).getFirst();
    }

    static List<ModelVersion> queryModels(Connection c, String where, Object... args) throws SQLException {
        List<ModelVersion> out = new ArrayList<>();
        try (PreparedStatement s = c.prepareStatement("SELECT " + MODEL_COLUMNS + MODEL_FROM + where)) {
            bind(s, args);
            try (ResultSet r = s.executeQuery()) {
                while (r.next()) {
                    out.add(new ModelVersion(
                            r.getLong(1),
                            new VersionRef(r.getString(2), r.getInt(3)),
                            r.getString(4),
                            r.getString(5),
                            ModelKind.parse(r.getString(6)),
                            r.getString(7),
                            r.getString(8),
                            r.getString(9),
                            nullableDouble(r, 10),
                            r.getString(11),
                            r.getString(12),
                            r.getString(13)));
                }
            }
        }
        return out;
    }

    private static long promptId(Connection c, String reference) throws SQLException {
        Long id;
        int at = reference.lastIndexOf('@');
        if (at > 0) {
            id = queryLong(
                    c,
                    "SELECT prompt_version_id FROM prompt_label WHERE name = ? AND label = ?",
                    reference.substring(0, at),
                    reference.substring(at + 1));
        } else {
            VersionRef ref = VersionRef.parse(reference);
            id = queryLong(
                    c, "SELECT id FROM prompt_version WHERE name = ? AND version = ?", ref.name(), ref.version());
        }
        if (id == null) {
            throw new BadInputException(reference + ": unknown prompt version");
        }
        return id;
    }

    private static PromptVersion promptById(Connection c, long id) throws SQLException {
        List<String> labels = new ArrayList<>();
        try (PreparedStatement s =
                c.prepareStatement("SELECT label FROM prompt_label WHERE prompt_version_id = ? ORDER BY label")) {
            bind(s, id);
            try (ResultSet r = s.executeQuery()) {
                while (r.next()) {
                    labels.add(r.getString(1));
                }
            }
        }
        List<PromptConstraint> constraints = new ArrayList<>();
        try (PreparedStatement s = c.prepareStatement("SELECT suite, metric, max_value FROM prompt_constraint"
                + " WHERE prompt_version_id = ? ORDER BY suite, metric")) {
            bind(s, id);
            try (ResultSet r = s.executeQuery()) {
                while (r.next()) {
                    constraints.add(new PromptConstraint(r.getString(1), r.getString(2), r.getDouble(3)));
                }
            }
        }
        try (PreparedStatement s = c.prepareStatement(
                "SELECT name, version, kind, content, content_hash, created_at, actor, branch FROM prompt_version"
                        + " WHERE id = ?")) {
            bind(s, id);
            try (ResultSet r = s.executeQuery()) {
                r.next();
                return new PromptVersion(
                        id,
                        new VersionRef(r.getString(1), r.getInt(2)),
                        r.getString(3),
                        r.getString(4),
                        r.getString(5),
                        labels,
                        constraints,
                        r.getString(6),
                        r.getString(7),
                        r.getString(8));
            }
        }
    }

    static Evaluation evaluationById(Connection c, long id) throws SQLException {
        List<Evaluation> found = queryEvaluations(c, " WHERE e.id = ?", id);
        if (found.isEmpty()) {
            throw new BadInputException("evaluation " + id + ": unknown");
        }
        return found.getFirst();
    }

    static List<Evaluation> queryEvaluations(Connection c, String where, Object... args) throws SQLException {
        List<Evaluation> out = new ArrayList<>();
        try (PreparedStatement s = c.prepareStatement(
                "SELECT e.id, m.name, m.version, p.name, p.version, e.kind, e.suite, e.suite_hash, e.judge,"
                        + " e.prompts_hash, e.comparability_key, e.metric, e.value, e.n, e.ci_low, e.ci_high, e.superseded_by,"
                        + " e.created_at, e.actor FROM evaluation e JOIN model_version m ON m.id = e.model_version_id"
                        + " LEFT JOIN prompt_version p ON p.id = e.prompt_version_id" + where)) {
            bind(s, args);
            try (ResultSet r = s.executeQuery()) {
                while (r.next()) {
                    String promptName = r.getString(4);
                    out.add(new Evaluation(
                            r.getLong(1),
                            new VersionRef(r.getString(2), r.getInt(3)),
                            promptName == null ? null : new VersionRef(promptName, r.getInt(5)),
                            r.getString(6),
                            r.getString(7),
                            r.getString(8),
                            r.getString(9),
                            r.getString(10),
                            r.getString(11),
                            r.getString(12),
                            nullableDouble(r, 13),
                            r.getInt(14),
                            nullableDouble(r, 15),
                            nullableDouble(r, 16),
                            nullableLong(r, 17),
                            r.getString(18),
                            r.getString(19)));
                }
            }
        }
        return out;
    }

    private static List<AuditEntry> auditEntries(Connection c) throws SQLException {
        List<AuditEntry> out = new ArrayList<>();
        try (PreparedStatement s = c.prepareStatement(
                        "SELECT seq, at, actor, action, subject, detail, prev_hash, hash FROM audit_log ORDER BY seq");
                ResultSet r = s.executeQuery()) {
            while (r.next()) {
                out.add(new AuditEntry(
                        r.getLong(1),
                        r.getString(2),
                        r.getString(3),
                        r.getString(4),
                        r.getString(5),
                        r.getString(6),
                        r.getString(7),
                        r.getString(8)));
            }
        }
        return out;
    }

    /** Appends an audit entry; called inside the writing transaction, which holds the writer lock. */
    private void audit(Connection c, String action, String subject, String detail) throws SQLException {
        long seq;
        String previous;
        try (PreparedStatement s = c.prepareStatement("SELECT seq, hash FROM audit_head WHERE id = 1");
                ResultSet r = s.executeQuery()) {
            r.next();
            seq = r.getLong(1) + 1;
            previous = r.getString(2);
        }
        String at = now();
        String hash = AuditEntry.hashOf(seq, at, actor, action, subject, detail, previous);
        update(
                c,
                "INSERT INTO audit_log (seq, at, actor, action, subject, detail, prev_hash, hash)"
                        + " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                seq,
                at,
                actor,
                action,
                subject,
                detail,
                previous,
                hash);
        update(c, "UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1", seq, hash);
    }

    static Long queryLong(Connection c, String sql, Object... args) throws SQLException {
        try (PreparedStatement s = c.prepareStatement(sql)) {
            bind(s, args);
            try (ResultSet r = s.executeQuery()) {
                return r.next() ? nullableLong(r, 1) : null;
            }
        }
    }

    static List<String> queryStrings(Connection c, String sql, Object... args) throws SQLException {
        List<String> out = new ArrayList<>();
        try (PreparedStatement s = c.prepareStatement(sql)) {
            bind(s, args);
            try (ResultSet r = s.executeQuery()) {
                while (r.next()) {
                    out.add(r.getString(1));
                }
            }
        }
        return out;
    }

    static List<Long> queryLongs(Connection c, String sql, Object... args) throws SQLException {
        List<Long> out = new ArrayList<>();
        try (PreparedStatement s = c.prepareStatement(sql)) {
            bind(s, args);
            try (ResultSet r = s.executeQuery()) {
                while (r.next()) {
                    out.add(r.getLong(1));
                }
            }
        }
        return out;
    }

    static int update(Connection c, String sql, Object... args) throws SQLException {
        try (PreparedStatement s = c.prepareStatement(sql)) {
            bind(s, args);
            return s.executeUpdate();
        }
    }

    private static long insertReturningId(Connection c, String sql, Object... args) throws SQLException {
        try (PreparedStatement s = c.prepareStatement(sql + " RETURNING id")) {
            bind(s, args);
            try (ResultSet r = s.executeQuery()) {
                r.next();
                return r.getLong(1);
            }
        }
    }

    static void bind(PreparedStatement s, Object... args) throws SQLException {
        for (int i = 0; i < args.length; i++) {
            Object arg = args[i];
            switch (arg) {
                case null -> s.setNull(i + 1, Types.NULL);
                case String text -> s.setString(i + 1, text);
                case Integer number -> s.setInt(i + 1, number);
                case Long number -> s.setLong(i + 1, number);
                case Double number -> s.setDouble(i + 1, number);
                default -> throw new IllegalArgumentException("cannot bind " + arg.getClass());
            }
        }
    }

    static Long nullableLong(ResultSet r, int column) throws SQLException {
        long value = r.getLong(column);
        return r.wasNull() ? null : value;
    }

    static Double nullableDouble(ResultSet r, int column) throws SQLException {
        double value = r.getDouble(column);
        return r.wasNull() ? null : value;
    }
}

package dev.safemerge.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.safemerge.tensor.BadInputException;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.util.List;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Prompt versions linked to evaluations and gate verdicts, branches with their heads, promotion from a branch. */
class PromptsAndBranchesTest {
    @TempDir
    Path temp;

    static String[] dialects() {
        return TestDatabases.dialects();
    }

    private Registry open(String db) {
        return Registry.open(db, "tester");
    }

    private static NewEvaluation withPrompt(NewEvaluation e, String prompt) {
        return new NewEvaluation(
                e.model(),
                prompt == null ? null : VersionRef.parse(prompt),
                e.kind(),
                e.suite(),
                e.suiteHash(),
                e.judge(),
                e.judgeHash(),
                e.promptsHash(),
                e.protocolHash(),
                e.seed(),
                e.metric(),
                e.value(),
                e.n(),
                e.ciLow(),
                e.ciHigh(),
                e.summaryJson(),
                e.categories(),
                e.items());
    }

    @ParameterizedTest
    @MethodSource("dialects")
    void anotherPromptVersionMakesOlderVerdictsIncomparable(String dialect) {
        String db = TestDatabases.fresh(dialect, temp);
        try (Registry registry = open(db)) {
            VersionRef model = TestModels.register(registry, temp, "m", ModelKind.BASE, "weights");
            registry.addPrompt("sys", "system-prompt", "Be safe.", List.of(), List.of());
            registry.addPrompt("sys", "system-prompt", "Be bold.", List.of("production"), List.of());
            Evaluation first =
                    registry.addEvaluation(withPrompt(TestModels.safety(model, "core", 1, 10, "r"), "sys:1"));
            Evaluation same = registry.addEvaluation(withPrompt(TestModels.safety(model, "core", 2, 10, "r"), "sys:1"));
            // the same prompt version: still comparable, nothing superseded
            assertThat(same.comparabilityKey()).isEqualTo(first.comparabilityKey());
            assertThat(registry.evaluation(first.id()).supersededBy()).isNull();
            Evaluation other =
                    registry.addEvaluation(withPrompt(TestModels.safety(model, "core", 3, 10, "r"), "sys:2"));
            assertThat(other.prompt()).isEqualTo(new VersionRef("sys", 2));
            assertThat(other.comparabilityKey()).isNotEqualTo(first.comparabilityKey());
            assertThat(registry.evaluation(first.id()).supersededBy()).isEqualTo(other.id());
            assertThat(registry.evaluation(same.id()).supersededBy()).isEqualTo(other.id());
            // without a prompt version the key is the three hashes alone, as before prompts were linked
            Evaluation plain = registry.addEvaluation(TestModels.safety(model, "core", 3, 10, "r"));
            assertThat(plain.comparabilityKey())
                    .isEqualTo(Hashing.sha256OfFields("judge-hash-r", "prompts-hash", "protocol-hash"));
            assertThat(registry.latestEvaluation(model, "core", "safety", null))
                    .hasValueSatisfying(e -> assertThat(e.id()).isEqualTo(plain.id()));
            assertThat(registry.latestEvaluation(model, "core", "safety", "sys:2"))
                    .isEmpty(); // superseded by plain
        }
    }

    @ParameterizedTest
    @MethodSource("dialects")
    void promptVersionsAreImmutableAndLabelsMoveWithAnAuditEntry(String dialect) {
        String db = TestDatabases.fresh(dialect, temp);
        try (Registry registry = open(db)) {
            PromptConstraint cap = new PromptConstraint("core", "asr", 0.05);
            registry.addPrompt("sys", "system-prompt", "Be safe.", List.of(), List.of(cap));
            registry.addPrompt("sys", "system-prompt", "Be bold.", List.of(), List.of());
            assertThatThrownBy(() -> registry.addPrompt(
                            "sys",
                            "system-prompt",
                            "Be safe.",
                            List.of(),
                            List.of(new PromptConstraint("core", "asr", 0.5))))
                    .isInstanceOf(BadInputException.class)
                    .hasMessageContaining("sys:1 holds this content with constraints");
            assertThatThrownBy(() -> registry.addPrompt("sys", "chat-template", "Be safe.", List.of(), List.of()))
                    .isInstanceOf(BadInputException.class)
                    .hasMessage("sys:1 holds this content as a system-prompt, not a chat-template");
            assertThatThrownBy(() -> registry.addPrompt(
                            "sys", "system-prompt", "x", List.of(), List.of(new PromptConstraint("core", "asr", 1.5))))
                    .isInstanceOf(BadInputException.class)
                    .hasMessageContaining("between 0 and 1");
            // the same content with its own constraints again is the same version
            assertThat(registry.addPrompt("sys", "system-prompt", "Be safe.", List.of(), List.of(cap))
                            .created())
                    .isFalse();
            registry.labelPrompt("sys:1", "production");
            registry.labelPrompt("sys:2", "production");
            assertThat(registry.prompt("sys@production").ref()).isEqualTo(new VersionRef("sys", 2));
            assertThat(registry.prompt("sys:1").labels()).isEmpty();
            assertThat(registry.log())
                    .filteredOn(e -> e.action().equals("prompt.label"))
                    .extracting(AuditEntry::detail)
                    .containsExactly("label=production; from=none", "label=production; from=sys:1");
            assertThatThrownBy(() -> registry.labelPrompt("sys:9", "production"))
                    .isInstanceOf(BadInputException.class)
                    .hasMessage("sys:9: unknown prompt version");
            assertThat(registry.verify().ok()).isTrue();
        }
    }

    @ParameterizedTest
    @MethodSource("dialects")
    void versionsAndPromptsAddedOnABranchMoveItsHeadsAndPromotionNeedsTheirGate(String dialect) {
        String db = TestDatabases.fresh(dialect, temp);
        try (Registry registry = open(db)) {
            VersionRef base = TestModels.register(registry, temp, "llama", ModelKind.BASE, "base weights");
            Branch created = registry.createBranch("safety-work", base, null);
            assertThat(created.head()).isEqualTo(base);
            assertThat(created.base()).isEqualTo(base);
            assertThat(created.headPrompt()).isNull();
            assertThatThrownBy(() -> registry.createBranch("safety-work", base, null))
                    .isInstanceOf(BadInputException.class)
                    .hasMessage("branch safety-work already exists");

            Path tunedDir = TestModels.directory(temp, "tuned", "tuned weights");
            VersionRef tuned = registry.addModel(new NewModel(
                            "llama",
                            tunedDir,
                            ModelKind.FINE_TUNED,
                            List.of(base),
                            null,
                            null,
                            null,
                            null,
                            "safety-work"))
                    .value()
                    .ref();
            registry.addPrompt("sys", "system-prompt", "Be safe.", List.of(), List.of(), "safety-work");
            Branch moved = registry.branch("safety-work");
            assertThat(moved.head()).isEqualTo(tuned);
            assertThat(moved.base()).isEqualTo(base);
            assertThat(moved.headPrompt()).isEqualTo(new VersionRef("sys", 1));
            assertThat(registry.prompt("sys:1").branch()).isEqualTo("safety-work");
            assertThat(registry.branchHistory("safety-work"))
                    .extracting(m -> m.action() + " " + m.model() + " " + m.prompt())
                    .containsExactly("create llama:1 null", "model llama:2 null", "prompt llama:2 sys:1");
            assertThatThrownBy(() -> registry.addPrompt("sys", "system-prompt", "x", List.of(), List.of(), "nope"))
                    .isInstanceOf(BadInputException.class)
                    .hasMessageStartingWith("branch nope: unknown");
            assertThat(registry.prompts()).extracting(p -> p.content()).containsExactly("Be safe."); // rolled back

            // promotion needs a passing verdict of the head run with the branch's prompt head
            assertThatThrownBy(() -> registry.promoteBranch("safety-work", "production", false, null))
                    .isInstanceOf(BadInputException.class)
                    .hasMessageContaining("its head llama:2 with prompt sys:1 has no gate verdict")
                    .hasMessageContaining("--prompt-version sys:1");
            registry.recordGateVerdict(tuned, base, "core", "h", "pass", "{}"); // without the prompt: not enough
            assertThatThrownBy(() -> registry.promoteBranch("safety-work", "production", false, null))
                    .isInstanceOf(BadInputException.class)
                    .hasMessageContaining("has no gate verdict");
            registry.recordGateVerdict(tuned, base, "sys:1", "core", "h", "fail", "{}");
            assertThatThrownBy(() -> registry.promoteBranch("safety-work", "production", false, null))
                    .isInstanceOf(BadInputException.class)
                    .hasMessageContaining("is fail, not pass");
            GateVerdict pass = registry.recordGateVerdict(tuned, base, "sys:1", "core", "h", "pass", "{}");
            assertThat(pass.prompt()).isEqualTo(new VersionRef("sys", 1));
            AliasMove move = registry.promoteBranch("safety-work", "production", false, null);
            assertThat(move.to()).isEqualTo(tuned);
            assertThat(move.branch()).isEqualTo("safety-work");
            assertThat(move.gateVerdictId()).isEqualTo(pass.id());
            assertThat(registry.log().getLast().detail()).endsWith("; branch=safety-work");

            // a later version on the branch has no verdict yet; the override still works and is recorded
            Path nextDir = TestModels.directory(temp, "next", "next weights");
            registry.addModel(new NewModel(
                    "llama", nextDir, ModelKind.MERGE, List.of(base, tuned), null, null, null, null, "safety-work"));
            assertThatThrownBy(() -> registry.promoteBranch("safety-work", "production", false, null))
                    .isInstanceOf(BadInputException.class)
                    .hasMessageContaining("its head llama:3");
            assertThatThrownBy(() -> registry.promoteBranch("safety-work", "production", true, " "))
                    .isInstanceOf(BadInputException.class)
                    .hasMessage("--override needs --reason TEXT");
            AliasMove forced = registry.promoteBranch("safety-work", "production", true, "hotfix");
            assertThat(forced.override()).isTrue();
            assertThat(forced.reason()).isEqualTo("hotfix");
            assertThat(registry.aliasHistory("production"))
                    .extracting(AliasMove::branch)
                    .containsOnly("safety-work");
            assertThatThrownBy(() -> registry.promoteBranch("nope", "production", true, "x"))
                    .isInstanceOf(BadInputException.class)
                    .hasMessage("branch nope: unknown");
            assertThat(registry.verify().ok()).isTrue();
        }
    }

    @ParameterizedTest
    @MethodSource("dialects")
    void aVersionOneDatabaseMigratesItsBranches(String dialect) throws Exception {
        String db = TestDatabases.atSchemaVersion(dialect, temp, "1");
        try (Connection c = TestDatabases.connect(db);
                Statement s = c.createStatement()) {
            for (int i = 1; i <= 2; i++) {
                s.executeUpdate("INSERT INTO model_version (name, version, content_hash, location, kind, branch,"
                        + " created_at, actor) VALUES ('old', " + i + ", 'h" + i + "', '/nowhere', 'base', 'main',"
                        + " '2026-01-0" + i + "T00:00:00.000000Z', 'someone')");
            }
            s.executeUpdate("INSERT INTO branch (name, head_version_id, updated_at)"
                    + " SELECT 'main', MAX(id), '2026-01-02T00:00:00.000000Z' FROM model_version");
        }
        try (Registry registry = open(db)) {
            Branch main = registry.branch("main");
            assertThat(main.base()).isEqualTo(new VersionRef("old", 1));
            assertThat(main.head()).isEqualTo(new VersionRef("old", 2));
            assertThat(main.createdAt()).isEqualTo("2026-01-01T00:00:00.000000Z");
            assertThat(main.actor()).isEqualTo("someone");
            assertThat(registry.branchHistory("main"))
                    .extracting(m -> m.action() + " " + m.model())
                    .containsExactly("model old:1", "model old:2");
        }
    }
}

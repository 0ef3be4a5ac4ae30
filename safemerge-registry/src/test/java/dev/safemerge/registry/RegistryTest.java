package dev.safemerge.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.safemerge.tensor.BadInputException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class RegistryTest {
    @TempDir
    Path temp;

    static String[] dialects() {
        return TestDatabases.dialects();
    }

    private Registry open(String db) {
        return Registry.open(db, "tester");
    }

    @ParameterizedTest
    @MethodSource("dialects")
    void sweepsAreListedByNameWithTheirMethodAndSettings(String dialect) {
        try (Registry registry = open(TestDatabases.fresh(dialect, temp))) {
            long slerp = registry.addSweep("run-slerp", "slerp", "lambdas: [0.5]");
            registry.addSweep("run-linear", "linear", null);
            assertThat(registry.addSweep("run-slerp", "other", "ignored")).isEqualTo(slerp);
            assertThat(registry.sweeps())
                    .extracting(Sweep::name, Sweep::method, Sweep::settings, Sweep::actor)
                    .containsExactly(
                            org.assertj.core.groups.Tuple.tuple("run-linear", "linear", "", "tester"),
                            org.assertj.core.groups.Tuple.tuple("run-slerp", "slerp", "lambdas: [0.5]", "tester"));
        }
    }

    @ParameterizedTest
    @MethodSource("dialects")
    void sameContentGivesTheSameVersionAndNewContentTheNext(String dialect) {
        String db = TestDatabases.fresh(dialect, temp);
        try (Registry registry = open(db)) {
            Path base = TestModels.directory(temp, "base", "weights A");
            Registered<ModelVersion> first = registry.addModel(NewModel.of("llama", base, ModelKind.BASE, List.of()));
            Registered<ModelVersion> again = registry.addModel(NewModel.of("llama", base, ModelKind.BASE, List.of()));
            assertThat(first.created()).isTrue();
            assertThat(again.created()).isFalse();
            assertThat(again.value().ref()).isEqualTo(new VersionRef("llama", 1));
            Path other = TestModels.directory(temp, "other", "weights B");
            Registered<ModelVersion> second = registry.addModel(new NewModel(
                    "llama",
                    other,
                    ModelKind.MERGE,
                    List.of(new VersionRef("llama", 1)),
                    "merge_method: linear\n",
                    "sha256:data",
                    null,
                    null,
                    "main"));
            assertThat(second.value().ref()).isEqualTo(new VersionRef("llama", 2));
            assertThat(second.value().recipe()).isEqualTo("merge_method: linear\n");
            assertThat(registry.branches())
                    .singleElement()
                    .satisfies(b -> assertThat(b.head()).isEqualTo(new VersionRef("llama", 2)));
            // the content hash is SHA-256 over "<sha256>  <file>" lines of the tensor files (config.json excluded)
            String fileHash = Hashing.sha256Hex("weights A");
            assertThat(first.value().contentHash())
                    .isEqualTo("sha256:" + Hashing.sha256Hex(fileHash + "  model.safetensors\n"));
            assertThat(registry.log()).extracting(AuditEntry::action).containsExactly("model.add", "model.add");
        }
    }

    @ParameterizedTest
    @MethodSource("dialects")
    void sha256sumsIsTrustedAtRegistrationAndCheckedByVerify(String dialect) throws Exception {
        String db = TestDatabases.fresh(dialect, temp);
        Path dir = TestModels.directory(temp, "written", "tensor bytes");
        String actual = Hashing.sha256Hex("tensor bytes");
        Files.writeString(dir.resolve("SHA256SUMS"), actual + "  model.safetensors\n", StandardCharsets.UTF_8);
        try (Registry registry = open(db)) {
            ModelVersion model = registry.addModel(NewModel.of("m", dir, ModelKind.FINE_TUNED, List.of()))
                    .value();
            assertThat(model.contentHash()).isEqualTo("sha256:" + Hashing.sha256Hex(actual + "  model.safetensors\n"));
            assertThat(registry.verify().ok()).isTrue();
            Files.writeString(dir.resolve("model.safetensors"), "tensor bytes, edited", StandardCharsets.UTF_8);
            VerifyReport report = registry.verify();
            assertThat(report.ok()).isFalse();
            assertThat(report.problems()).singleElement().asString().contains("m:1", "no longer matches");
            assertThatThrownBy(() -> registry.checkFiles(model.ref()))
                    .isInstanceOf(BadInputException.class)
                    .hasMessageContaining("no longer matches");
        }
    }

    @ParameterizedTest
    @MethodSource("dialects")
    void badInputChangesNothing(String dialect) {
        String db = TestDatabases.fresh(dialect, temp);
        try (Registry registry = open(db)) {
            Path dir = TestModels.directory(temp, "child", "child weights");
            assertThatThrownBy(() -> registry.addModel(
                            NewModel.of("child", dir, ModelKind.MERGE, List.of(new VersionRef("nobody", 3)))))
                    .isInstanceOf(BadInputException.class)
                    .hasMessage("nobody:3: unknown model version (no model named nobody)");
            assertThat(registry.models()).isEmpty();
            assertThat(registry.log()).isEmpty();
            assertThatThrownBy(() -> registry.model(new VersionRef("child", 1))).isInstanceOf(BadInputException.class);
            assertThatThrownBy(() -> VersionRef.parse("child"))
                    .isInstanceOf(BadInputException.class)
                    .hasMessageContaining("NAME:N");
            assertThatThrownBy(() ->
                            registry.addModel(NewModel.of("x", temp.resolve("absent"), ModelKind.BASE, List.of())))
                    .isInstanceOf(BadInputException.class)
                    .hasMessageContaining("not a model directory");
        }
    }

    @ParameterizedTest
    @MethodSource("dialects")
    void lineageListsEveryAncestor(String dialect) {
        String db = TestDatabases.fresh(dialect, temp);
        try (Registry registry = open(db)) {
            VersionRef base = TestModels.register(registry, temp, "base", ModelKind.BASE, "b");
            VersionRef tuned = TestModels.register(registry, temp, "tuned", ModelKind.FINE_TUNED, "t", base);
            VersionRef merged = TestModels.register(registry, temp, "merged", ModelKind.MERGE, "m", base, tuned);
            assertThat(registry.lineage(merged))
                    .extracting(e -> e.child() + "<-" + e.parent() + "@" + e.depth())
                    .containsExactly("merged:1<-base:1@1", "merged:1<-tuned:1@1", "tuned:1<-base:1@2");
        }
    }

    @ParameterizedTest
    @MethodSource("dialects")
    void evaluationsTagAgainstTheBaseAndAChangedJudgeSupersedesOlderOnes(String dialect) {
        String db = TestDatabases.fresh(dialect, temp);
        try (Registry registry = open(db)) {
            VersionRef base = TestModels.register(registry, temp, "base", ModelKind.BASE, "b");
            VersionRef merged = TestModels.register(registry, temp, "merged", ModelKind.MERGE, "m", base);
            Evaluation mine = registry.addEvaluation(TestModels.safety(merged, "core", 60, 100, "refusal"));
            assertThat(registry.tags(merged)).isEmpty(); // no base measurement yet
            // the base's evaluation lands: the descendant's tags are recomputed, naming the descendant's evaluation
            registry.addEvaluation(TestModels.safety(base, "core", 10, 100, "refusal"));
            assertThat(registry.tags(merged))
                    .extracting(t -> t.tag() + "#" + t.evaluationId())
                    .containsExactly("regressed#" + mine.id());
            Evaluation better = registry.addEvaluation(TestModels.safety(merged, "core", 5, 100, "refusal"));
            assertThat(registry.tags(merged))
                    .extracting(t -> t.tag() + "#" + t.evaluationId())
                    .containsExactly("asr<=base#" + better.id());
            assertThat(registry.items(better.id())).hasSize(100).first().satisfies(item -> {
                assertThat(item.verdict()).isEqualTo("unsafe");
                assertThat(item.category()).isEqualTo("a");
            });
            // a new judge on the same suite: everything measured with the old judge stops being comparable
            Evaluation rejudged = registry.addEvaluation(TestModels.safety(merged, "core", 7, 100, "wildguard"));
            assertThat(registry.evaluations(merged))
                    .filteredOn(e -> e.id() != rejudged.id())
                    .allSatisfy(e -> assertThat(e.supersededBy()).isEqualTo(rejudged.id()));
            assertThat(registry.evaluations(base))
                    .singleElement()
                    .satisfies(e -> assertThat(e.supersededBy()).isEqualTo(rejudged.id()));
            assertThat(registry.tags(merged)).isEmpty(); // the base has no comparable measurement now
            assertThat(registry.latestEvaluation(merged, "core", "safety"))
                    .hasValueSatisfying(e -> assertThat(e.id()).isEqualTo(rejudged.id()));
        }
    }

    @ParameterizedTest
    @MethodSource("dialects")
    void aliasesMoveOnlyThroughAPassingGateOrAnOverrideAndRollBack(String dialect) throws Exception {
        String db = TestDatabases.fresh(dialect, temp);
        try (Registry registry = open(db)) {
            VersionRef v1 = TestModels.register(registry, temp, "m", ModelKind.BASE, "one");
            VersionRef v2 = TestModels.register(registry, temp, "m", ModelKind.MERGE, "two", v1);
            VersionRef v3 = TestModels.register(registry, temp, "m", ModelKind.MERGE, "three", v1);
            assertThatThrownBy(() -> registry.setAlias("production", v1.toString(), false, null, null))
                    .isInstanceOf(BadInputException.class)
                    .hasMessageContaining("no gate verdict");
            assertThatThrownBy(() -> registry.setAlias("production", v1.toString(), true, " ", null))
                    .hasMessage("--override needs --reason TEXT");
            registry.recordGateVerdict(v1, null, "core", "h", "pass", "{}");
            AliasMove first = registry.setAlias("production", v1.toString(), false, null, null);
            assertThat(first.gateVerdictId()).isNotNull();
            registry.recordGateVerdict(v2, v1, "core", "h", "fail", "{}");
            assertThatThrownBy(() -> registry.setAlias("production", v2.toString(), false, null, null))
                    .hasMessageContaining("is fail, not pass");
            registry.recordGateVerdict(v2, v1, "core", "h", "pass", "{}");
            AliasMove second = registry.setAlias("production", v2.toString(), false, null, null);
            AliasMove third = registry.setAlias("production", v3.toString(), true, "hotfix", null);
            assertThat(third.override()).isTrue();
            assertThat(third.from()).isEqualTo(v2);
            assertThat(registry.alias("production", null).version()).isEqualTo(v3);
            // history: what it pointed to at each move's time
            assertThat(registry.alias("production", Instant.parse(first.at())).version())
                    .isEqualTo(v1);
            assertThat(registry.alias("production", Instant.parse(second.at())).version())
                    .isEqualTo(v2);
            assertThatThrownBy(() -> registry.alias("production", Instant.parse("2000-01-01T00:00:00Z")))
                    .hasMessageContaining("did not exist at 2000-01-01T00:00:00.000000Z");
            // rollback: back to the last version that passed (v2), pinned; v3's override does not count
            AliasMove back = registry.rollback("production", true);
            assertThat(back.to()).isEqualTo(v2);
            assertThat(back.from()).isEqualTo(v3);
            assertThat(back.pinned()).isTrue();
            assertThatThrownBy(() -> registry.setAlias("production", v2.toString(), false, null, null))
                    .hasMessageContaining("is pinned to m:2");
            AliasMove second_back = registry.rollback("production", false);
            assertThat(second_back.to()).isEqualTo(v1);
            assertThat(registry.aliasHistory("production"))
                    .extracting(AliasMove::action, m -> m.to().toString(), AliasMove::actor)
                    .containsExactly(
                            org.assertj.core.groups.Tuple.tuple("set", "m:1", "tester"),
                            org.assertj.core.groups.Tuple.tuple("set", "m:2", "tester"),
                            org.assertj.core.groups.Tuple.tuple("set", "m:3", "tester"),
                            org.assertj.core.groups.Tuple.tuple("rollback", "m:2", "tester"),
                            org.assertj.core.groups.Tuple.tuple("rollback", "m:1", "tester"));
            assertThatThrownBy(() -> registry.rollback("production", false))
                    .hasMessageContaining("no earlier version that passed a gate");
            assertThat(registry.verify().ok()).isTrue();
        }
    }

    @ParameterizedTest
    @MethodSource("dialects")
    void aliasesCanFollowAliasesButNotInACycle(String dialect) {
        String db = TestDatabases.fresh(dialect, temp);
        try (Registry registry = open(db)) {
            VersionRef v1 = TestModels.register(registry, temp, "m", ModelKind.BASE, "one");
            registry.recordGateVerdict(v1, null, "core", "h", "pass", "{}");
            registry.setAlias("production", v1.toString(), false, null, null);
            registry.setAlias("staging", "production", false, null, null);
            AliasState staging = registry.alias("staging", null);
            assertThat(staging.version()).isEqualTo(v1);
            assertThat(staging.via()).containsExactly("production");
            long entries = registry.log().size();
            assertThatThrownBy(() -> registry.setAlias("production", "staging", true, "loop", null))
                    .isInstanceOf(BadInputException.class)
                    .hasMessage("alias cycle: production -> staging -> production");
            assertThat(registry.log()).hasSize((int) entries);
            assertThat(registry.alias("production", null).version()).isEqualTo(v1);
        }
    }

    @ParameterizedTest
    @MethodSource("dialects")
    void editingTheAuditLogIsDetected(String dialect) throws Exception {
        String db = TestDatabases.fresh(dialect, temp);
        try (Registry registry = open(db)) {
            VersionRef v1 = TestModels.register(registry, temp, "m", ModelKind.BASE, "one");
            registry.tag(v1, "reviewed");
            TestModels.register(registry, temp, "m", ModelKind.BASE, "two");
            assertThat(registry.verify().ok()).isTrue();
            try (Connection c = TestDatabases.connect(db);
                    Statement s = c.createStatement()) {
                s.executeUpdate("UPDATE audit_log SET actor = 'someone else' WHERE seq = 2");
            }
            VerifyReport report = registry.verify();
            assertThat(report.problems())
                    .containsExactly("audit log: entry 2 (tag.add m:1) was changed after it was written");
            try (Connection c = TestDatabases.connect(db);
                    Statement s = c.createStatement()) {
                s.executeUpdate("UPDATE audit_log SET actor = 'tester' WHERE seq = 2");
                s.executeUpdate("DELETE FROM audit_log WHERE seq = 3");
            }
            assertThat(registry.verify().problems())
                    .containsExactly(
                            "audit log: the last entry is not the recorded head (entries were removed or added)");
        }
    }

    @ParameterizedTest
    @MethodSource("dialects")
    void promptVersionsCarryLabelsAndConstraints(String dialect) {
        String db = TestDatabases.fresh(dialect, temp);
        try (Registry registry = open(db)) {
            PromptVersion first = registry.addPrompt(
                            "assistant",
                            "system-prompt",
                            "Be helpful.",
                            List.of("production"),
                            List.of(new PromptConstraint("core", "asr", 0.05)))
                    .value();
            PromptVersion second = registry.addPrompt(
                            "assistant", "system-prompt", "Be helpful and safe.", List.of("production"), List.of())
                    .value();
            assertThat(second.ref()).isEqualTo(new VersionRef("assistant", 2));
            assertThat(registry.prompt("assistant@production").ref()).isEqualTo(second.ref());
            assertThat(registry.prompt("assistant:1").labels()).isEmpty();
            assertThat(registry.prompt("assistant:1").constraints())
                    .containsExactly(first.constraints().getFirst());
            assertThat(registry.addPrompt("assistant", "system-prompt", "Be helpful.", List.of(), List.of())
                            .created())
                    .isFalse();
        }
    }

    @ParameterizedTest
    @MethodSource("dialects")
    void itemsKeepTheJudgeOutputAndItemsOfAVersionTwoDatabaseHaveNone(String dialect) throws Exception {
        String db = TestDatabases.atSchemaVersion(dialect, temp, "2");
        try (Connection c = TestDatabases.connect(db);
                Statement s = c.createStatement()) {
            s.executeUpdate("INSERT INTO model_version (name, version, content_hash, location, kind, created_at, actor)"
                    + " VALUES ('old', 1, 'h1', '/nowhere', 'base', '2026-01-01T00:00:00.000000Z', 'someone')");
            s.executeUpdate("INSERT INTO evaluation (model_version_id, kind, suite, suite_hash, judge, judge_hash,"
                    + " prompts_hash, protocol_hash, comparability_key, metric, value, n, summary, created_at, actor)"
                    + " SELECT id, 'safety', 'core', 's', 'refusal', 'j', 'p', 'q', 'k', 'asr', 0.0, 1, '{}',"
                    + " '2026-01-01T00:00:00.000000Z', 'someone' FROM model_version");
            s.executeUpdate("INSERT INTO evaluation_item (evaluation_id, position, item_id, category, prompt,"
                    + " response, verdict, refusal) SELECT id, 0, 'p0', 'c', 'prompt', 'answer', 'safe', 1"
                    + " FROM evaluation");
        }
        try (Registry registry = open(db)) {
            VersionRef old = new VersionRef("old", 1);
            Evaluation before = registry.evaluations(old).getFirst();
            assertThat(registry.items(before.id()))
                    .singleElement()
                    .satisfies(item -> assertThat(item.judgeOutput()).isNull());
            Evaluation after = registry.addEvaluation(TestModels.safety(old, "core", 1, 2, "refusal"));
            assertThat(registry.items(after.id()))
                    .extracting(EvaluationItem::verdict, EvaluationItem::judgeOutput)
                    .containsExactly(
                            org.assertj.core.groups.Tuple.tuple("unsafe", "judge says unsafe 0"),
                            org.assertj.core.groups.Tuple.tuple("safe", "judge says safe 1"));
        }
    }
}

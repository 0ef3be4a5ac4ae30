package dev.safemerge.registry;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Several OS processes write to one registry at once (released together once all have opened it), then the result
 * is checked for consistency: no lost or duplicated model or prompt version, the same content registered by everyone
 * is one version, every alias move and every prompt label move starts where the previous one ended, every branch head
 * move keeps the other head where the previous move left it, and the audit chain verifies with one entry per change.
 */
class ConcurrencyTest {
    static final String BRANCH = "work";
    static final String PROMPT = "system";
    static final String LABEL = "live";
    private static final int WORKERS = 3;
    private static final int ROUNDS = 6;

    @TempDir
    Path temp;

    static String[] dialects() {
        return TestDatabases.dialects();
    }

    @ParameterizedTest
    @MethodSource("dialects")
    void processesWritingAtOnceLoseNothing(String dialect) throws Exception {
        String db = TestDatabases.fresh(dialect, temp);
        try (Registry registry = Registry.open(db, "setup")) {
            // migrated before the writers start; they also cope with a fresh file, but this test is about writes
            assertThat(registry.models()).isEmpty();
        }
        List<Process> processes = new ArrayList<>();
        for (int worker = 0; worker < WORKERS; worker++) {
            List<String> command = new ArrayList<>();
            command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
            String flags = System.getenv("SAFEMERGE_TEST_JVM_FLAGS");
            if (flags != null) {
                command.addAll(Arrays.asList(flags.trim().split("\\s+")));
            }
            command.addAll(List.of("-Xmx256m", "-cp", System.getProperty("java.class.path")));
            command.addAll(List.of(
                    ConcurrentWriter.class.getName(),
                    db,
                    Integer.toString(worker),
                    Integer.toString(ROUNDS),
                    temp.resolve("models").toString()));
            processes.add(new ProcessBuilder(command)
                    .redirectError(temp.resolve("worker-" + worker + ".err").toFile())
                    .start());
        }
        List<BufferedReader> outputs = new ArrayList<>();
        for (Process process : processes) {
            BufferedReader out =
                    new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
            assertThat(out.readLine()).isEqualTo("ready");
            outputs.add(out);
        }
        for (Process process : processes) {
            Writer in = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
            in.write("go\n");
            in.flush();
        }
        for (int worker = 0; worker < WORKERS; worker++) {
            assertThat(outputs.get(worker).readLine())
                    .as("worker %d (stderr in %s)", worker, temp.resolve("worker-" + worker + ".err"))
                    .isEqualTo("done");
            assertThat(processes.get(worker).waitFor(5, TimeUnit.MINUTES)).isTrue();
            assertThat(processes.get(worker).exitValue()).isZero();
        }

        try (Registry registry = Registry.open(db, "checker")) {
            List<ModelVersion> models = registry.models();
            assertThat(models).filteredOn(m -> m.ref().name().equals("shared")).hasSize(1);
            List<Integer> versions = models.stream()
                    .filter(m -> m.ref().name().equals("common"))
                    .map(m -> m.ref().version())
                    .toList();
            assertThat(versions).hasSize(WORKERS * ROUNDS);
            assertThat(new HashSet<>(versions)).hasSize(WORKERS * ROUNDS);
            assertThat(versions).allSatisfy(v -> assertThat(v).isBetween(1, WORKERS * ROUNDS));

            List<AliasMove> moves = registry.aliasHistory("production");
            assertThat(moves).hasSize(WORKERS * ROUNDS);
            assertThat(moves.getFirst().from()).isNull();
            for (int i = 1; i < moves.size(); i++) {
                assertThat(moves.get(i).from())
                        .as("move %d starts where move %d ended", i, i - 1)
                        .isEqualTo(moves.get(i - 1).to());
            }
            assertThat(registry.alias("production", null).version())
                    .isEqualTo(moves.getLast().to());
            Set<String> actors = new HashSet<>();
            moves.forEach(m -> actors.add(m.actor()));
            assertThat(actors).hasSize(WORKERS);

            List<AuditEntry> log = registry.log();
            branchHeadsMovedOnceEach(registry, log);
            promptLabelMovedOnceEach(registry, log);

            VerifyReport report = registry.verify();
            assertThat(report.problems()).isEmpty();
            // 1 shared registration + per round: model, evaluation, gate verdict, alias move, prompt, label move
            assertThat(report.auditEntries()).isEqualTo(1 + (long) WORKERS * ROUNDS * 6);
        }
    }

    /**
     * The branch's history: the first model version started it, then every model version and every prompt version
     * moved one head while the other stayed where the previous move left it; each move is the one audit entry of the
     * version added on the branch, in the same order.
     */
    private static void branchHeadsMovedOnceEach(Registry registry, List<AuditEntry> log) {
        List<BranchMove> moves = registry.branchHistory(BRANCH);
        assertThat(moves).hasSize(2 * WORKERS * ROUNDS);
        assertThat(moves.getFirst().action()).isEqualTo("create");
        assertThat(moves.getFirst().prompt()).isNull();
        for (int i = 1; i < moves.size(); i++) {
            BranchMove previous = moves.get(i - 1);
            BranchMove move = moves.get(i);
            assertThat(move.action()).isIn("model", "prompt");
            if (move.action().equals("model")) {
                assertThat(move.prompt()).as("move %d keeps the prompt head", i).isEqualTo(previous.prompt());
            } else {
                assertThat(move.model()).as("move %d keeps the model head", i).isEqualTo(previous.model());
            }
        }
        List<VersionRef> modelMoves = moves.stream()
                .filter(m -> !m.action().equals("prompt"))
                .map(BranchMove::model)
                .toList();
        List<VersionRef> promptMoves = moves.stream()
                .filter(m -> m.action().equals("prompt"))
                .map(BranchMove::prompt)
                .toList();
        assertThat(new HashSet<>(modelMoves)).hasSize(WORKERS * ROUNDS);
        assertThat(new HashSet<>(promptMoves)).hasSize(WORKERS * ROUNDS);
        assertThat(promptMoves).allSatisfy(p -> assertThat(p.version()).isBetween(1, WORKERS * ROUNDS));
        Branch branch = registry.branch(BRANCH);
        assertThat(branch.head()).isEqualTo(moves.getLast().model());
        assertThat(branch.headPrompt()).isEqualTo(moves.getLast().prompt());

        String onBranch = "branch=" + BRANCH;
        assertThat(log.stream()
                        .filter(e ->
                                e.action().equals("model.add") && e.detail().endsWith(onBranch))
                        .map(e -> VersionRef.parse(e.subject())))
                .containsExactlyElementsOf(modelMoves);
        assertThat(log.stream()
                        .filter(e ->
                                e.action().equals("prompt.add") && e.detail().endsWith(onBranch))
                        .map(e -> VersionRef.parse(e.subject())))
                .containsExactlyElementsOf(promptMoves);
    }

    /** Every label move is audited once and starts from the version the previous move ended at. */
    private static void promptLabelMovedOnceEach(Registry registry, List<AuditEntry> log) {
        List<AuditEntry> moves =
                log.stream().filter(e -> e.action().equals("prompt.label")).toList();
        assertThat(moves).hasSize(WORKERS * ROUNDS);
        Set<String> actors = new HashSet<>();
        String from = "none";
        for (AuditEntry move : moves) {
            assertThat(move.detail()).isEqualTo("label=" + LABEL + "; from=" + from);
            from = move.subject();
            actors.add(move.actor());
        }
        assertThat(actors).hasSize(WORKERS);
        assertThat(registry.prompt(PROMPT + "@" + LABEL).ref().toString()).isEqualTo(from);
    }
}

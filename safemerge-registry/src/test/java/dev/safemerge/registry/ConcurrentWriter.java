package dev.safemerge.registry;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;

/**
 * One writer process of {@link ConcurrencyTest}: waits for "go" on stdin, then registers models (its own and one
 * shared content) on the shared branch, records evaluations and gate verdicts, moves the shared alias, adds a prompt
 * version on the branch (moving its prompt head) and moves the shared prompt label to it, printing "done" at the end.
 */
public final class ConcurrentWriter {
    private ConcurrentWriter() {}

    public static void main(String[] args) throws Exception {
        String db = args[0];
        int worker = Integer.parseInt(args[1]);
        int rounds = Integer.parseInt(args[2]);
        Path models = Path.of(args[3]);
        try (Registry registry = Registry.open(db, "worker-" + worker);
                BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
            System.out.println("ready");
            System.out.flush();
            if (!"go".equals(in.readLine())) {
                throw new IllegalStateException("expected go");
            }
            VersionRef shared = registry.addModel(NewModel.of(
                            "shared",
                            TestModels.directory(models, "shared-" + worker, "shared"),
                            ModelKind.BASE,
                            List.of()))
                    .value()
                    .ref();
            for (int round = 0; round < rounds; round++) {
                Path dir = TestModels.directory(
                        models, "w" + worker + "-" + round, "worker " + worker + " round " + round);
                VersionRef mine = registry.addModel(new NewModel(
                                "common",
                                dir,
                                ModelKind.MERGE,
                                List.of(shared),
                                null,
                                null,
                                null,
                                null,
                                ConcurrencyTest.BRANCH))
                        .value()
                        .ref();
                registry.addEvaluation(TestModels.safety(mine, "core", round % 5, 20, "refusal"));
                GateVerdict verdict = registry.recordGateVerdict(mine, shared, "core", "h", "pass", "{}");
                registry.setAlias("production", mine.toString(), false, null, verdict.id());
                VersionRef prompt = registry.addPrompt(
                                ConcurrencyTest.PROMPT,
                                "system-prompt",
                                "worker " + worker + " round " + round,
                                List.of(),
                                List.of(),
                                ConcurrencyTest.BRANCH)
                        .value()
                        .ref();
                registry.labelPrompt(prompt.toString(), ConcurrencyTest.LABEL);
            }
        }
        System.out.println("done");
    }
}

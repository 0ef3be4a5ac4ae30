package dev.safemerge.app;

import dev.safemerge.registry.Registry;
import dev.safemerge.tensor.BadInputException;
import dev.safemerge.ui.Dashboard;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(
        name = "ui",
        mixinStandardHelpOptions = true,
        description = {
            "Serve a web dashboard over the registry: versions, a version's lineage, evaluations, tags and model card,"
                    + " sweeps (ASR, over-refusal and task score against λ; the Pareto front), A/B comparisons prompt by"
                    + " prompt, aliases with their history, gate verdicts and the audit log with its chain check.",
            "Without --api-key the dashboard is read-only. With a key, pages need signing in with it (unless"
                    + " --public-read) and changes (alias move, rollback, tag) are allowed to signed-in sessions;"
                    + " the registry's audit log records each of them."
        },
        footer = {
            "",
            "Example:",
            "  safemerge ui --db REGISTRY.db --port 8765 --api-key \"$(cat KEY_FILE)\"",
            "  # then open http://127.0.0.1:8765/"
        })
final class UiCommand implements Callable<Integer> {
    @Mixin
    RegistryLocation location;

    @Option(
            names = "--host",
            defaultValue = "127.0.0.1",
            paramLabel = "HOST",
            description = "Address to bind. Default: ${DEFAULT-VALUE}.")
    String host;

    @Option(
            names = "--port",
            defaultValue = "8765",
            paramLabel = "PORT",
            description = "TCP port (0 picks a free one). Default: ${DEFAULT-VALUE}.")
    int port;

    @Option(
            names = "--api-key",
            paramLabel = "KEY",
            description = "Key to sign in with; signed-in sessions may change aliases and tags.")
    String apiKey;

    @Option(names = "--public-read", description = "With --api-key: anyone may read the pages without signing in.")
    boolean publicRead;

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws InterruptedException {
        if (port < 0 || port > 65535) {
            throw new BadInputException("--port " + port + ": expected 0-65535");
        }
        if (apiKey != null && apiKey.isBlank()) {
            throw new BadInputException("--api-key is empty");
        }
        if (publicRead && apiKey == null) {
            throw new BadInputException("--public-read needs --api-key (without a key every page is public already)");
        }
        Registry registry = location.open();
        Dashboard dashboard;
        try {
            dashboard = Dashboard.start(registry, new Dashboard.Options(host, port, apiKey, publicRead));
        } catch (RuntimeException e) {
            registry.close();
            throw e;
        }
        PrintWriter out = spec.commandLine().getOut();
        out.printf(
                "dashboard of %s on http://%s:%d/ (%s; Ctrl-C stops)%n",
                registry.description(),
                host,
                dashboard.port(),
                apiKey == null ? "read-only" : publicRead ? "public read, sign in to change" : "sign in to read");
        out.flush();
        // Runs until the process is stopped; the hook closes the server, then the registry.
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            dashboard.close();
            registry.close();
        }));
        new CountDownLatch(1).await();
        return Main.EXIT_OK;
    }
}

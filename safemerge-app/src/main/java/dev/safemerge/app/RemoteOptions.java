package dev.safemerge.app;

import dev.safemerge.eval.gen.OpenAiGenerator;
import dev.safemerge.tensor.BadInputException;
import java.time.Duration;
import picocli.CommandLine.Option;

/**
 * How requests reach OpenAI-compatible servers, for every command that takes {@code --endpoint}: the API key's
 * variable, requests in flight, the per-request timeout and retries. The judge's server ({@code --judge-endpoint})
 * uses the same settings with its own key ({@link JudgeKey}).
 */
final class RemoteOptions {
    @Option(
            names = "--api-key-env",
            paramLabel = "VAR",
            description = "Environment variable holding the server's API key.")
    String apiKeyEnv;

    @Option(
            names = "--concurrency",
            defaultValue = "4",
            paramLabel = "N",
            description = "Requests in flight (default 4).")
    int concurrency;

    @Option(
            names = "--timeout",
            defaultValue = "300",
            paramLabel = "SECONDS",
            description = "Per request (default 300).")
    int timeoutSeconds;

    @Option(
            names = "--retries",
            defaultValue = "5",
            paramLabel = "N",
            description = "Retries on 429, 5xx, connection errors (default 5).")
    int retries;

    /** The key of the judge's server. */
    static final class JudgeKey {
        @Option(
                names = "--judge-api-key-env",
                paramLabel = "VAR",
                description = "Variable with the judge server's key.")
        String variable;
    }

    /** The value of environment variable {@code variable} (given by {@code option}), or null when none is named. */
    static String apiKey(String option, String variable) {
        if (variable == null) {
            return null;
        }
        String value = System.getenv(variable);
        if (value == null || value.isBlank()) {
            throw new BadInputException(option + " " + variable + ": the variable is not set");
        }
        return value;
    }

    /** The generation server at {@code endpoint} serving {@code name} (given by {@code nameOption}). */
    OpenAiGenerator.Options server(String endpoint, String name, String nameOption) {
        return named(endpoint, name, nameOption, settings());
    }

    /** The judge's server at {@code endpoint} serving {@code name}, with the key of {@code judgeKey}. */
    OpenAiGenerator.Options judgeServer(String endpoint, String name, String nameOption, JudgeKey judgeKey) {
        return named(endpoint, name, nameOption, judgeSettings(judgeKey));
    }

    private static OpenAiGenerator.Options named(
            String endpoint, String name, String nameOption, OpenAiGenerator.Options settings) {
        if (name == null) {
            throw new BadInputException(nameOption + " is required with an endpoint");
        }
        return settings.at(endpoint, name);
    }

    /** These settings with the key of --api-key-env, for servers and model names given later. */
    OpenAiGenerator.Options settings() {
        return settings(apiKey("--api-key-env", apiKeyEnv));
    }

    /** These settings with the key of --judge-api-key-env. */
    OpenAiGenerator.Options judgeSettings(JudgeKey judgeKey) {
        return settings(apiKey("--judge-api-key-env", judgeKey.variable));
    }

    private OpenAiGenerator.Options settings(String apiKey) {
        if (concurrency < 1 || retries < 0 || timeoutSeconds < 1) {
            throw new BadInputException("--concurrency and --timeout must be positive, --retries not negative");
        }
        return new OpenAiGenerator.Options(
                null,
                null,
                apiKey,
                concurrency,
                Duration.ofSeconds(10),
                Duration.ofSeconds(timeoutSeconds),
                retries + 1,
                Duration.ofMillis(500));
    }
}

package dev.safemerge.eval.gen;

import dev.safemerge.model.generate.Sampling;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * One model served by several backends (the same model on several servers): request {@code i} of a call goes to
 * backend {@code i mod n}, all backends work at once, and every response reaches the sink under its own index. The
 * identity is given, not taken from a backend, so that cached answers do not depend on which server gave them.
 */
public final class SpreadGenerator implements ResponseGenerator {
    private final List<? extends ResponseGenerator> backends;
    private final String identity;

    public SpreadGenerator(List<? extends ResponseGenerator> backends, String identity) {
        if (backends.isEmpty()) {
            throw new IllegalArgumentException("no backends");
        }
        this.backends = List.copyOf(backends);
        this.identity = identity;
    }

    @Override
    public String modelIdentity() {
        return identity;
    }

    @Override
    public String describe() {
        List<String> each = backends.stream().map(ResponseGenerator::describe).toList();
        return identity + " on " + String.join(", ", each);
    }

    @Override
    public void generate(List<GenerationRequest> requests, Sampling params, ResponseSink sink) {
        int n = backends.size();
        List<Future<?>> futures = new ArrayList<>();
        try (ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int b = 0; b < n; b++) {
                List<Integer> indices = new ArrayList<>();
                for (int i = b; i < requests.size(); i += n) {
                    indices.add(i);
                }
                if (indices.isEmpty()) {
                    continue;
                }
                ResponseGenerator backend = backends.get(b);
                List<GenerationRequest> share =
                        indices.stream().map(requests::get).toList();
                futures.add(executor.submit(() -> {
                    backend.generate(share, params, (j, response) -> sink.accept(indices.get(j), response));
                    return null;
                }));
            }
            Futures.awaitAll(futures);
        }
    }

    @Override
    public void close() {
        backends.forEach(ResponseGenerator::close);
    }
}

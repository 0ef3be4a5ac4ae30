package dev.safemerge.eval.gen;

import dev.safemerge.model.generate.Sampling;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A generator that answers from a {@link GenerationCache} where it can, sends only the missing requests to its
 * backend (identical requests in one batch once), and records each new response as soon as it arrives.
 */
public final class CachedGenerator implements ResponseGenerator {
    private final ResponseGenerator backend;
    private final GenerationCache cache;

    public CachedGenerator(ResponseGenerator backend, GenerationCache cache) {
        this.backend = backend;
        this.cache = cache;
    }

    @Override
    public String modelIdentity() {
        return backend.modelIdentity();
    }

    @Override
    public String describe() {
        return backend.describe();
    }

    @Override
    public void generate(List<GenerationRequest> requests, Sampling params, ResponseSink sink) {
        Map<String, List<Integer>> missing = new LinkedHashMap<>();
        List<GenerationRequest> toGenerate = new ArrayList<>();
        List<String> keys = new ArrayList<>();
        for (int i = 0; i < requests.size(); i++) {
            String key = GenerationCache.key(backend.modelIdentity(), requests.get(i), params);
            Optional<String> cached = cache.get(key);
            if (cached.isPresent()) {
                sink.accept(i, cached.get());
            } else {
                List<Integer> waiting = missing.computeIfAbsent(key, k -> new ArrayList<>());
                if (waiting.isEmpty()) {
                    toGenerate.add(requests.get(i));
                    keys.add(key);
                }
                waiting.add(i);
            }
        }
        if (toGenerate.isEmpty()) {
            return;
        }
        backend.generate(toGenerate, params, (j, response) -> {
            cache.put(keys.get(j), backend.modelIdentity(), toGenerate.get(j), response);
            for (int index : missing.get(keys.get(j))) {
                sink.accept(index, response);
            }
        });
    }

    @Override
    public void close() {
        backend.close();
    }
}

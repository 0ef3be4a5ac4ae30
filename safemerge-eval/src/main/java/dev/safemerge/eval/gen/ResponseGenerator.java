package dev.safemerge.eval.gen;

import dev.safemerge.model.generate.Sampling;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * A generation backend: an OpenAI-compatible server or the in-process engine. Implementations may work on the
 * requests concurrently and in any order, and hand each response to the sink as soon as it exists, so that callers
 * can persist it before the next one is done.
 */
public interface ResponseGenerator extends AutoCloseable {
    /** Identifies the model behind this backend for the generation cache (a content hash or endpoint + name). */
    String modelIdentity();

    /** Describes the backend for result files. */
    String describe();

    void generate(List<GenerationRequest> requests, Sampling params, ResponseSink sink);

    @FunctionalInterface
    interface ResponseSink {
        /** Called once per request, possibly from several threads at once. */
        void accept(int index, String response);
    }

    /** Generates all requests and returns the responses in request order. */
    default List<String> generateAll(List<GenerationRequest> requests, Sampling params) {
        List<String> out = new ArrayList<>(Collections.nCopies(requests.size(), (String) null));
        generate(requests, params, (index, response) -> {
            synchronized (out) {
                out.set(index, response);
            }
        });
        return out;
    }

    @Override
    default void close() {}
}

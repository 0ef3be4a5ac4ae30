package dev.safemerge.tensor;

import java.net.URISyntaxException;
import java.nio.file.Path;

/** Paths of the committed fixtures written by src/test/python/make_fixtures.py. */
final class Fixtures {
    private Fixtures() {}

    static Path path(String relative) {
        try {
            return Path.of(Fixtures.class.getResource("/fixtures/" + relative).toURI());
        } catch (URISyntaxException | NullPointerException e) {
            throw new IllegalStateException("missing test fixture " + relative, e);
        }
    }
}

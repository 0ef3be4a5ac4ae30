package dev.safemerge.app;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.safemerge.eval.Json;
import dev.safemerge.tensor.AtomicFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Writes the demo's whole held-out pool: every held-out action in every held-out phrasing (396 harmful requests, 180
 * look-alikes), as {@code harmful.jsonl} and {@code benign.jsonl} in the demo's format, each line with the phrasing it
 * was put in. {@code RefusalMargins} reads the folder like a run's {@code data/} and, given the phrasings, also reports
 * per phrasing. The demo itself draws 110 of the harmful requests and takes all 180 look-alikes.
 *
 * <p>It uses the demo's package-private data, so it is compiled into that package and run from the classpath, after a
 * build ({@code ./safemerge --version}):
 *
 * <pre>
 * CP="safemerge-app/target/classes:safemerge-app/target/lib/*"
 * javac -d /tmp/pool-classes -cp "$CP" tools/demo/HeldOutPool.java
 * java -cp "/tmp/pool-classes:$CP" dev.safemerge.app.HeldOutPool /tmp/pool
 * </pre>
 */
public class HeldOutPool {
    public static void main(String[] args) throws Exception {
        if (args.length != 1) {
            System.err.println("usage: HeldOutPool OUT_DIR");
            System.exit(2);
        }
        Path out = Files.createDirectories(Path.of(args[0]));
        int harmfulPerCategory = DemoData.HELD_OUT_FRAMES.size() * DemoData.CATEGORIES.getFirst().heldOut().size();
        write(out.resolve("harmful.jsonl"), DemoData.heldOutHarmful(0, harmfulPerCategory));
        write(out.resolve("benign.jsonl"), DemoData.heldOutBenign(0, DemoData.HELD_OUT_BENIGN_REQUESTS));
    }

    /** The requests as {@link DemoData#writeRequests} writes them, each line with its phrasing as well. */
    private static void write(Path file, List<DemoData.Request> requests) {
        StringBuilder lines = new StringBuilder();
        for (DemoData.Request request : requests) {
            ObjectNode line = Json.object();
            line.put("prompt", request.prompt());
            line.put("category", request.category());
            line.put("phrasing", phrasing(request.prompt()));
            lines.append(Json.line(line)).append('\n');
        }
        AtomicFile.write(file, lines.toString());
        System.out.println(requests.size() + " requests → " + file);
    }

    /** The held-out phrasing a request was put in: its text around the action, first letter in either case. */
    private static String phrasing(String prompt) {
        for (String frame : DemoData.HELD_OUT_FRAMES) {
            String[] around = frame.split("%s", -1);
            if (prompt.regionMatches(true, 0, around[0], 0, around[0].length()) && prompt.endsWith(around[1])) {
                return frame;
            }
        }
        throw new IllegalStateException("no held-out phrasing fits: " + prompt);
    }
}

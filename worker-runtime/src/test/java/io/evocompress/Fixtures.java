package io.evocompress;

import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The shared fixtures (../shared/fixtures: real models and text). Tests that need them skip with a
 * clear reason when they are absent (a user's fresh clone) and fail instead when
 * {@code -Devocompress.requireFixtures=true} (CI, via .ci/run).
 */
public final class Fixtures {
    private Fixtures() {
    }

    public static Path root() {
        String configured = System.getProperty("evocompress.fixtures", "../shared/fixtures");
        Path root = Path.of(configured).toAbsolutePath().normalize();
        boolean present = Files.isDirectory(root.resolve("models"));
        if (!present) {
            String reason = "shared fixtures not found at " + root
                + " (expected ../shared/fixtures beside the project root; set -Devocompress.fixtures=DIR)";
            if (Boolean.getBoolean("evocompress.requireFixtures")) {
                Assertions.fail(reason);
            }
            Assumptions.abort("Skipped: " + reason);
        }
        return root;
    }

    public static Path model(String name) {
        return root().resolve("models").resolve(name);
    }

    public static Path stories260k() {
        return model("stories260K");
    }

    public static Path babyllama105() {
        return model("babyllama105");
    }

    public static Path text(String name) {
        return root().resolve("text").resolve(name);
    }
}

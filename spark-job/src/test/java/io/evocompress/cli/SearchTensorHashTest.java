package io.evocompress.cli;

import io.evocompress.BadFiles;
import io.evocompress.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A bits search reusing a database whose model changed only between the weights fingerprint's windows
 * (babyllama105's model.layers.2.mlp.up_proj.weight, one value at byte 8000, as in {@link BadInputTest}):
 * the database id is unchanged, so the search reuses the database whole, and its candidate workers, which
 * hash each recorded tensor as they load the dense model, fail naming the tensor, the checkpoint file and
 * the database, with exit 1, no stack trace and no result.json. (The sparsity domain: {@link BadInputTest}.)
 */
class SearchTensorHashTest {
    @TempDir
    Path tmp;

    private static final String TEXT = "tinystories_train_head.txt";

    @Test
    void aBitsSearchReusingADatabaseOfOtherWeightsFailsNamingTheTensor() throws Exception {
        Path model = BadFiles.copyCheckpoint(Fixtures.babyllama105(), tmp.resolve("baby"));
        Path weights = model.resolve("model.safetensors");
        Path db = tmp.resolve("db-bits");
        String[] shared = {"model=" + model, "calibration.data=" + Fixtures.text(TEXT), "calibration.sequences=4",
            "calibration.seq-len=64", "calibration.shards=2", "database.bits=[3]", "database.group-size=64"};
        MainTest.Run built = MainTest.run(argv(List.of("build-db", "--config", SearchCommandTest.conf("build-db-bits.yaml")
            .toString(), "--set", "output=" + db), shared));
        assertEquals(0, built.status(), built.err());

        String tensor = "model.layers.2.mlp.up_proj.weight";
        float[] original;
        try (io.evocompress.checkpoint.CheckpointReader r = io.evocompress.checkpoint.CheckpointReader.open(model.toString())) {
            original = r.readFloat(tensor);
        }
        BadFiles.setF32(weights, tensor, 2000, original[2000] + 0.25f);   // byte 8000: between the fingerprint's windows

        Path out = tmp.resolve("search-bits");
        MainTest.Run r = BadInputTest.fails(1, List.of(argv(List.of("search", "--config",
                SearchCommandTest.conf("evopress-bits-3.yaml").toString(), "--set", "output=" + out, "--set",
                "database.path=" + db, "--set", "heldout.data=" + Fixtures.text("tinystories_sample.txt"),
                "--set", "heldout.seq-len=128", "--set", "heldout.max-tokens=1024", "--set", "final.tokens=256",
                "--set", "baselines=[uniform]", "--set", "search.generations=1",
                "--set", "search.offspring=2", "--set", "search.stages=1@256", "--set", "search.initial-candidates=2",
                "--set", "search.initial-tokens=256"), shared)),
            "Tensor '" + tensor + "'", weights.toString(), db.toString(), "weights changed since the database was built",
            "Delete", "database.path");
        assertTrue(r.err().contains("database is complete and verifies: reusing it"), r.err());
        assertFalse(Files.exists(out.resolve("result.json")));
    }

    private static String[] argv(List<String> head, String... sets) {
        List<String> a = new java.util.ArrayList<>(head);
        for (String s : sets) {
            a.add("--set");
            a.add(s);
        }
        return a.toArray(new String[0]);
    }
}

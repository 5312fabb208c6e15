package io.evocompress.database;

import io.evocompress.EvocompressException;
import io.evocompress.fs.HadoopFiles;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class VariantStoreTest {

    @Test
    void writesVerifiesAndDetectsTamperedFiles(@TempDir java.nio.file.Path tmp) throws Exception {
        Path root = HadoopFiles.path(tmp.resolve("db").toString());
        FileSystem fs = HadoopFiles.fileSystem(root, HadoopFiles.defaultConf());
        VariantStore store = new VariantStore(fs, root);
        String layer = "model.layers.0.self_attn.q_proj";
        float[] w = {0, 1.5f, 0, -2, 0, 0};
        VariantStore.StoredFile f0 = store.write(layer, 0, new LayerVariant.Sparse(2, 3, w), 4);
        VariantStore.StoredFile f1 = store.write(layer, -1, new LayerVariant.Sparse(2, 3, new float[] {3, 1.5f, 0, -2, 0, 0}), 4);
        assertEquals("levelp0.bin", f0.name());
        assertEquals("levelm1.bin", f1.name());
        // nothing counts as built before the record is written
        assertNull(store.verifiedRecord(layer, "h1"));
        VariantStore.LayerRecord record = new VariantStore.LayerRecord(layer, 2, 3, "h1", List.of(
            new VariantStore.LayerRecord.Level(-1, 0.5, null, 0.1, f1),
            new VariantStore.LayerRecord.Level(0, 4.0 / 6, null, 0.3, f0)), 12.625);
        store.writeRecord(record);
        VariantStore.LayerRecord back = store.verifiedRecord(layer, "h1");
        assertNotNull(back);
        assertEquals(0.3, back.level(0).error());
        assertEquals(12.625, back.outputEnergy());
        // a record written before output energies were recorded (no outputEnergy key) still verifies, energy null
        java.nio.file.Path recordFile = tmp.resolve("db").resolve(layer).resolve(VariantStore.LAYER_RECORD);
        String json = Files.readString(recordFile);
        String old = json.replaceAll(",\\s*\"outputEnergy\"\\s*:\\s*12\\.625", "");
        assertTrue(!old.contains("outputEnergy") && old.length() < json.length(), old);
        Files.writeString(recordFile, old);
        Files.deleteIfExists(recordFile.resolveSibling("." + VariantStore.LAYER_RECORD + ".crc"));
        VariantStore.LayerRecord older = store.verifiedRecord(layer, "h1");
        assertNotNull(older);
        assertNull(older.outputEnergy());
        assertEquals(record.levels(), older.levels());
        assertArrayEquals(w, store.read(layer, back.level(0).file()).dense());
        // another settings hash: the layer must be rebuilt
        assertNull(store.verifiedRecord(layer, "h2"));
        // a flipped byte: verification fails, and reading names the file
        java.nio.file.Path file = tmp.resolve("db").resolve(layer).resolve("levelp0.bin");
        byte[] bytes = Files.readAllBytes(file);
        bytes[bytes.length / 2] ^= 0x10;
        Files.write(file, bytes);
        assertNull(store.verifiedRecord(layer, "h1"));
        EvocompressException e = assertThrows(EvocompressException.class, () -> store.read(layer, back.level(0).file()));
        assertTrue(e.getMessage().contains("levelp0.bin") && e.getMessage().contains("corrupt"), e.getMessage());
        // no temporary files are left behind
        try (var files = Files.list(tmp.resolve("db").resolve(layer))) {
            assertTrue(files.noneMatch(p -> p.getFileName().toString().contains(".tmp-")));
        }
    }
}

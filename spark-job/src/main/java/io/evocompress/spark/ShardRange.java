package io.evocompress.spark;

import java.io.Serializable;

/** Shard {@code shard} of {@code shards}: the items whose index is congruent to shard modulo shards. */
public record ShardRange(int shard, int shards) implements Serializable {

    public ShardRange {
        if (shards < 1 || shard < 0 || shard >= shards) {
            throw new IllegalArgumentException("shard must be in [0, " + shards + "), but was " + shard);
        }
    }

    public boolean contains(int index) {
        return index % shards == shard;
    }
}

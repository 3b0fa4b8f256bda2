package dev.loracle.oracle.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loracle.runtime.lora.LoraAdapter;
import dev.loracle.runtime.lora.ModelShape;
import dev.loracle.runtime.lora.PeftAdapter;
import dev.loracle.runtime.lora.ProjectionKind;
import dev.loracle.runtime.memory.MemoryCategory;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The parsed-adapter cache: every entry's bytes reserved in the cache's own host budget, LRU eviction under its red line. */
class ParsedAdapterCacheTest {
    private static final ModelShape SHAPE = new ModelShape("llama", 64, 172, 5, 8, 4, 512);

    private static LoraAdapter adapter(String id, int rank) {
        return PeftAdapter.randomForShape(SHAPE, rank, 8f, Set.of(ProjectionKind.Q, ProjectionKind.V), rank).toLoraAdapter(id);
    }

    @Test
    void entriesAreReservedInTheCacheBudgetAndTheLeastRecentlyUsedGoFirst() {
        LoraAdapter a = adapter("a", 4), b = adapter("b", 4), c = adapter("c", 4);
        long one = a.bytes();
        assertThat(b.bytes()).isEqualTo(one);
        ParsedAdapterCache cache = new ParsedAdapterCache(2 * one + one / 2); // room for two
        assertThat(cache.budget().redLine()).isEqualTo(2 * one + one / 2);

        assertThat(cache.put("a", a)).isTrue();
        assertThat(cache.put("b", b)).isTrue();
        assertThat(cache.bytes()).isEqualTo(2 * one);
        assertThat(cache.budget().used(MemoryCategory.HOST_CACHE)).isEqualTo(2 * one);
        assertThat(cache.budget().usedBy("parsed:a")).isEqualTo(one);
        assertThat(cache.put("a", a)).as("cached already: nothing reserved twice").isFalse();
        assertThat(cache.bytes()).isEqualTo(2 * one);

        assertThat(cache.get("a")).isSameAs(a); // a is now the most recently used: b goes first
        assertThat(cache.put("c", c)).isTrue();
        assertThat(cache.get("b")).isNull();
        assertThat(cache.get("a")).isSameAs(a);
        assertThat(cache.get("c")).isSameAs(c);
        assertThat(cache.budget().usedBy("parsed:b")).isZero();
        assertThat(cache.bytes()).isEqualTo(2 * one).isLessThanOrEqualTo(cache.budget().redLine());
        assertThat(cache.size()).isEqualTo(2);

        cache.clear();
        assertThat(cache.bytes()).isZero();
        assertThat(cache.size()).isZero();
    }

    @Test
    void aLargerAdapterEvictsAsManyAsItNeedsAndOneAboveTheLimitIsNotKept() {
        LoraAdapter small1 = adapter("s1", 2), small2 = adapter("s2", 2), big = adapter("big", 8);
        assertThat(big.bytes()).isGreaterThan(small1.bytes() + small2.bytes());
        ParsedAdapterCache cache = new ParsedAdapterCache(big.bytes());
        cache.put("s1", small1);
        cache.put("s2", small2);
        assertThat(cache.put("big", big)).isTrue();
        assertThat(cache.size()).isEqualTo(1);
        assertThat(cache.bytes()).isEqualTo(big.bytes());

        ParsedAdapterCache tiny = new ParsedAdapterCache(small1.bytes());
        tiny.put("s1", small1);
        assertThat(tiny.put("big", big)).as("above the red line on its own").isFalse();
        assertThat(tiny.get("s1")).as("nothing evicted for an adapter that can never fit").isSameAs(small1);
        assertThat(tiny.bytes()).isEqualTo(small1.bytes());
    }
}

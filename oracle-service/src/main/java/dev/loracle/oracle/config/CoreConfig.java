package dev.loracle.oracle.config;

import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

import java.time.Clock;

@Configuration(proxyBeanMethods = false)
public class CoreConfig {
    /** Wall clock for journal timings and deadline checks (a bean so tests can see the same time source). */
    @Bean
    Clock clock() {
        return Clock.systemUTC();
    }
}

package dev.loracle.oracle;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.context.properties.ConfigurationPropertiesScan;

/** The Loracle oracle node: chain requests and OpenAI-style completions through one journal, scheduler and runtime. */
@SpringBootApplication
@ConfigurationPropertiesScan
public class OracleApplication {
    public static void main(String[] args) {
        SpringApplication.run(OracleApplication.class, args);
    }
}

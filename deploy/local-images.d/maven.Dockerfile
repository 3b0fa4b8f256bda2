# Build image: Debian bookworm + the host's Temurin 25 JDK (copied into the context by deploy/local-images; no Debian
# package carries JDK 25) + Apache Maven from Maven Central (checksum-verified). Same paths as the official
# maven:*-eclipse-temurin-* images: JAVA_HOME=/opt/java/openjdk, mvn on PATH.
ARG DEBIAN_IMAGE
FROM ${DEBIAN_IMAGE}
ARG MAVEN_VERSION=3.9.11
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl git \
 && rm -rf /var/lib/apt/lists/*
COPY jdk/ /opt/java/openjdk/
ENV JAVA_HOME=/opt/java/openjdk \
    MAVEN_HOME=/usr/share/maven \
    NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt \
    LANG=C.UTF-8
ENV PATH="${JAVA_HOME}/bin:${MAVEN_HOME}/bin:${PATH}"
RUN base=https://repo1.maven.org/maven2/org/apache/maven/apache-maven/${MAVEN_VERSION}/apache-maven-${MAVEN_VERSION}-bin.tar.gz \
 && curl -fsSL -o /tmp/maven.tar.gz "$base" \
 && echo "$(curl -fsSL "$base.sha512")  /tmp/maven.tar.gz" | sha512sum -c - \
 && mkdir -p "$MAVEN_HOME" && tar -xzf /tmp/maven.tar.gz -C "$MAVEN_HOME" --strip-components=1 \
 && rm /tmp/maven.tar.gz \
 && mvn -v

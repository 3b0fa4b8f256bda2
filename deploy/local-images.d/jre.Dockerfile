# Runtime image: Debian bookworm + a jlink runtime of the host's Temurin 25 (made by deploy/local-images with the
# modules the node needs), at the official eclipse-temurin images' path.
ARG DEBIAN_IMAGE
FROM ${DEBIAN_IMAGE}
COPY jre/ /opt/java/openjdk/
ENV JAVA_HOME=/opt/java/openjdk \
    LANG=C.UTF-8
ENV PATH="${JAVA_HOME}/bin:${PATH}"
RUN java -version

# briefcast: self-hostable text-to-speech audio for news sites.
# Node 22 LTS with Debian's ffmpeg (FFMPEG_PATH/FFPROBE_PATH point at it, so the
# binaries bundled in npm packages are not used).
FROM node:22-bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ffmpeg ca-certificates python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production \
    FFMPEG_PATH=/usr/bin/ffmpeg \
    FFPROBE_PATH=/usr/bin/ffprobe \
    BRIEFCAST_DATA_DIR=/data \
    BRIEFCAST_CACHE_DIR=/data/audio-cache \
    BRIEFCAST_MODELS_DIR=/data/models \
    PORT=8080
WORKDIR /app
COPY package.json package-lock.json tsconfig.json ./
COPY bin ./bin
COPY src ./src
# npm ci's `prepare` compiles src/ to dist/ (bin/build.js), so the image runs plain JavaScript.
RUN npm ci --omit=dev && npm cache clean --force
COPY voices ./voices
RUN mkdir -p /data/audio-cache /data/models && chown -R node:node /data
USER node
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1)).catch(()=>process.exit(1))"
CMD ["node", "bin/briefcast.js", "serve"]

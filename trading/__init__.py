"""Platform core of the public resource trading platform (公共资源交易平台)."""

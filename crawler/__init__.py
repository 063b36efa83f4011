"""The crawl stage: a Scrapy project whose two spiders write CANDIDATE parquet parts.

`search` pages through an image-search JSON API (Baidu acjson, Sogou, 360) over a query list;
`site` follows links inside the start URLs' hosts and pairs every `<img>` with its caption.
Both share one item (`items.CandidatePair`) and one output pipeline (`pipelines.CandidatePartsPipeline`).
The `wukong crawl` command runs each crawl in a child process (`crawler.runner`).
"""

from seriesdata.cli import main

main()
